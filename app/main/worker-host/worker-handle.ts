// One small adapter over how the worker process is started: Node's fork() here, Electron's utilityProcess in the app.

import { fork } from 'node:child_process';
import type { ToWorker } from '../../shared/worker-protocol.js';

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface WorkerHandle {
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (exit: WorkerExit) => void): void;
  kill(): void;
}

export type SpawnWorker = () => WorkerHandle;

/** A plain Node child process; 'advanced' serialization carries image bytes as typed arrays, not JSON. */
export function nodeWorkerSpawner(entry: string, env: NodeJS.ProcessEnv = process.env): SpawnWorker {
  return () => {
    const child = fork(entry, [], { serialization: 'advanced', env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // A worker that dies between our check and the write makes the send fail (EPIPE); its exit event is
    // what reports the death, so the failed write itself is not an error.
    child.on('error', () => undefined);
    return {
      get pid() {
        return child.pid;
      },
      send: (m) => {
        if (child.connected) child.send(m, () => undefined);
      },
      onMessage: (l) => child.on('message', l),
      onExit: (l) => child.once('exit', (code, signal) => l({ code, signal })),
      kill: () => void child.kill('SIGKILL'),
    };
  };
}
