// The README's examples, as written: installed the documented way into a new project,
// type-checked, and run against the real server.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TestServer } from "../testing/server.js";

const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."); // from dist/test
/** The comment that marks a README code block as a complete program to run. */
const MARKER = "<!-- readme-test: run -->";
const RUN_LIMIT_MS = 60_000;

/** The code of every fenced block that follows MARKER, in order. */
function markedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`${MARKER}\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`, "g");
  for (const match of markdown.matchAll(pattern)) blocks.push(`${match[1]}\n`);
  return blocks;
}

let work: string;
let project: string;
let server: TestServer;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "parley-ts-readme-"));
  // A copy as a fresh clone has it (no node_modules, no dist/), so the install must build it.
  const sdk = path.join(work, "typescript");
  fs.cpSync(sdkDir, sdk, {
    recursive: true,
    filter: (from) => !["node_modules", "dist"].includes(path.basename(from)),
  });
  project = path.join(work, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ private: true, type: "module" }));
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM"],
        strict: true,
        skipLibCheck: true,
        // The compiler and Node's types come from the SDK's own pinned dev dependencies.
        typeRoots: [path.join(sdk, "node_modules/@types")],
        types: ["node"],
      },
      include: ["*.ts"],
    }),
  );
  // The README's install command.
  execFileSync("npm", ["install", sdk], { cwd: project, stdio: ["ignore", "ignore", "inherit"] });
  server = await TestServer.start();
});
after(async () => {
  await server?.dispose();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("the README's examples type-check and run against the server", () => {
  const blocks = markedBlocks(fs.readFileSync(path.join(sdkDir, "README.md"), "utf8"));
  assert.equal(blocks.length, 3, "the README marks three examples to run");
  blocks.forEach((code, i) => fs.writeFileSync(path.join(project, `example-${i + 1}.ts`), code));
  execFileSync(path.join(work, "typescript/node_modules/.bin/tsc"), ["-p", "."], { cwd: project, stdio: "inherit" });

  const outputs = blocks.map((_, i) => {
    const run = spawnSync("node", [`example-${i + 1}.js`], {
      cwd: project,
      env: { ...process.env, PARLEY_URL: server.baseUrl },
      encoding: "utf8",
      timeout: RUN_LIMIT_MS,
    });
    assert.equal(run.status, 0, `example ${i + 1} failed (${run.signal ?? run.status}):\n${run.stdout}${run.stderr}`);
    assert.equal(run.stderr, "", `example ${i + 1} wrote to stderr`);
    return run.stdout;
  });
  assert.match(outputs[0] ?? "", /^"Shopping list" is at version 2$/m);
  assert.match(outputs[1] ?? "", /^caught up at \S+$/m);
  assert.match(outputs[1] ?? "", /^alice oat milk\?$/m);
  assert.match(outputs[1] ?? "", /^resume later from \S+$/m);
  assert.match(outputs[2] ?? "", /^before: nobody$/m);
  assert.match(outputs[2] ?? "", /^hello alice$/m);
  assert.match(outputs[2] ?? "", /^here: alice$/m);
  assert.match(outputs[2] ?? "", /^alice is typing \(for \d+ ms\)$/m);
  // Her stream is closed, but she stays a member for the grace period.
  assert.match(outputs[2] ?? "", /^#general: 1 here, active \S+$/m);
});
