// Form fields with labels, hints and per-field errors taken from a problem's `errors`.

import { h, uid, setMessage } from './dom.js';
import { ApiError, describeError } from './api.js';

/**
 * A labelled input (or textarea, with `multiline`). Returns the wrapper; the control is
 * `wrapper.control`. Extra attributes for the control go in `attrs`.
 */
export function field({ label, name, type = 'text', value = '', hint, multiline = false, attrs = {} }) {
  const id = uid(`field-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const control = multiline
    ? h('textarea', { id, name, ...attrs })
    : h('input', { id, name, type, ...attrs });
  control.value = value;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  const wrapper = h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    control,
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
  wrapper.control = control;
  wrapper.dataset.field = name;
  return wrapper;
}

function fieldParts(form, name) {
  const wrapper = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrapper) return null;
  return { wrapper, control: wrapper.control, error: wrapper.querySelector('.field-error') };
}

function setFieldError(parts, message) {
  const { control, error } = parts;
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean)
    .filter((id) => id !== error.id);
  if (message) {
    setMessage(error, message);
    error.hidden = false;
    control.setAttribute('aria-invalid', 'true');
    described.push(error.id);
  } else {
    error.textContent = '';
    error.hidden = true;
    control.removeAttribute('aria-invalid');
  }
  if (described.length) control.setAttribute('aria-describedby', described.join(' '));
  else control.removeAttribute('aria-describedby');
}

/** The paragraph where a form shows errors that belong to no single field. */
export function formError() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

/** Clears every field error and the form's own error. */
export function clearErrors(form) {
  for (const wrapper of form.querySelectorAll('.field[data-field]')) {
    setFieldError(fieldParts(form, wrapper.dataset.field), '');
  }
  const general = form.querySelector('.form-error');
  if (general) {
    general.textContent = '';
    general.hidden = true;
  }
}

/**
 * Shows an error in a form: each `{field, message}` of a validation problem next to its
 * field (the first such field gets focus), and anything else in the form's error line.
 * `fieldFor` maps other problems to a field, e.g. a 409 to `key`; `generalText`
 * replaces the usual sentence for a problem that belongs to no field.
 */
export function showError(form, error, { fieldFor, generalText } = {}) {
  clearErrors(form);
  const general = form.querySelector('.form-error');
  const unplaced = [];
  let first = null;
  const errors = error instanceof ApiError ? [...error.fieldErrors] : [];
  const mapped = fieldFor?.(error);
  if (mapped) errors.push({ field: mapped, message: error.detail });
  const byField = new Map();
  for (const { field: name, message } of errors) {
    if (!fieldParts(form, name)) unplaced.push(`${name}: ${message}`);
    else byField.set(name, [...(byField.get(name) ?? []), message]);
  }
  for (const [name, messages] of byField) {
    const parts = fieldParts(form, name);
    setFieldError(parts, messages.join('; '));
    first ??= parts.control;
  }
  if (general) {
    let text = '';
    if (unplaced.length) text = `Please fix: ${unplaced.join('; ')}.`;
    else if (!errors.length) text = generalText ?? describeError(error);
    else text = errors.length === 1 ? 'Please correct the field marked above.' : 'Please correct the fields marked above.';
    setMessage(general, text);
    general.hidden = false;
  }
  (first ?? general)?.focus?.();
}

/** Disables a form's submit button while `work` runs. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button[type="submit"]')];
  for (const button of buttons) {
    button.disabled = true;
    button.setAttribute('aria-disabled', 'true');
  }
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    for (const button of buttons) {
      button.disabled = false;
      button.removeAttribute('aria-disabled');
    }
    form.removeAttribute('aria-busy');
  }
}
