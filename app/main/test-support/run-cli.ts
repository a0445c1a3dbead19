// Test helper: runs `studio` (the built CLI) in its own process until it prints a line that matches, or exits.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { appRoot } from '../paths.js';

export interface CliRun {
  /** null when the process was still running and was stopped after `until` matched. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The first line of stdout or stderr that matched `until`. */
  readonly matched?: string;
}

/**
 * Starts `studio ...args` and resolves when it exits, or when a line matches `until` (the process is then
 * stopped with SIGTERM and awaited). Times out after `timeoutMs` with what it printed so far.
 */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; until?: RegExp; timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [join(appRoot(), 'bin', 'studio.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STUDIO_THREADS: '2', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  let matched: string | undefined;
  const check = (text: string) => {
    if (!options.until || matched !== undefined) return;
    const line = text.split('\n').find((l) => options.until!.test(l));
    if (line !== undefined) {
      matched = line;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', (d: Buffer) => check((stdout += d.toString())));
  child.stderr.on('data', (d: Buffer) => check((stderr += d.toString())));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`studio ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: matched !== undefined ? null : code, stdout, stderr, ...(matched !== undefined ? { matched } : {}) });
    });
  });
}
