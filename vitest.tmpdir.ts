// Every test run gets its own temporary folder (TMPDIR, which os.tmpdir() and Chromium read), removed
// when the run ends: the suite makes hundreds of data folders, model folders and browser profiles, and
// a developer's or CI machine's /tmp must not fill up run after run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'studio-tests-'));
  // Set before the test workers start, so every forked worker (and what it spawns) inherits it.
  process.env.TMPDIR = runDir;
  process.env.TEMP = runDir;
  process.env.TMP = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
