//! Password guessing, lockouts, the hashing queue and registrations.
