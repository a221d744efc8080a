// Starts the real Parley server (its private PostgreSQL in a fresh data directory) for a test file.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."); // from dist/testing
const repoRoot = path.resolve(clientDir, "../..");
const binary = path.join(repoRoot, "target/debug/parley");
const STARTUP_LIMIT_MS = 120_000;

function ensureBinary(): void {
  if (fs.existsSync(binary)) return;
  const build = spawnSync("cargo", ["build", "--bin", "parley"], { cwd: repoRoot, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) throw new Error(`cargo build --bin parley failed (status ${build.status})`);
}

export class TestServer {
  private constructor(
    readonly dataDir: string,
    readonly baseUrl: string,
    private readonly child: ChildProcess,
    private readonly log: string[],
  ) {}

  /**
   * Spawns `parley --listen <listen> --data-dir <dataDir> [args…]` and resolves once it
   * prints `listening on http://…`. Without `dataDir`, a fresh one is made under /tmp.
   */
  static async start(dataDir?: string, listen = "127.0.0.1:0", args: readonly string[] = []): Promise<TestServer> {
    ensureBinary();
    if (dataDir === undefined) {
      dataDir = fs.mkdtempSync("/tmp/parley-ts-");
      // Tests run as root, and the server runs PostgreSQL as `postgres`, which must enter it.
      fs.chmodSync(dataDir, 0o755);
    }
    // Every test signs up its own users from one address: no sign-up limit here.
    const argv = ["--listen", listen, "--data-dir", dataDir, "--registrations-per-minute", "0", ...args];
    const child = spawn(binary, argv, {
      cwd: dataDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info,actix_server=warn" },
    });
    const log: string[] = [];
    const dir = dataDir;
    createInterface({ input: child.stderr! }).on("line", (line) => log.push(line));
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new Error(`parley did not start: ${why}\n${log.join("\n")}`));
      };
      const timer = setTimeout(() => fail(`no "listening on" line in ${STARTUP_LIMIT_MS} ms`), STARTUP_LIMIT_MS);
      child.once("error", (err) => fail(String(err)));
      child.once("exit", (code, signal) => fail(`it exited (code ${code}, signal ${signal})`));
      // Keep reading stdout for the server's whole life, or a full pipe would block it.
      createInterface({ input: child.stdout! }).on("line", (line) => {
        log.push(line);
        const match = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          child.removeAllListeners("error");
          resolve(match[1]);
        }
      });
    });
    return new TestServer(dir, baseUrl, child, log);
  }

  /** The `host:port` it listens on, to restart it on the same address. */
  get address(): string {
    return new URL(this.baseUrl).host;
  }

  /** SIGTERM, then waits for the process to exit. The data directory stays. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await exited;
  }

  /** Stops the server and deletes its data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The server's output so far, for failure messages. */
  output(): string {
    return this.log.join("\n");
  }
}
