// The worker as an Electron utilityProcess: the same worker code, started the Electron way.

import { utilityProcess } from 'electron';
import type { SpawnWorker } from '../worker-host/worker-handle.js';

export function utilityWorkerSpawner(entry: string): SpawnWorker {
  return () => {
    const child = utilityProcess.fork(entry, [], { serviceName: 'Studio image worker', stdio: 'inherit' });
    let alive = true;
    child.once('exit', () => (alive = false));
    return {
      get pid() {
        return child.pid;
      },
      send: (m) => {
        if (alive) child.postMessage(m);
      },
      onMessage: (l) => child.on('message', l),
      // Electron reports only the exit code; a kill from outside shows as a non-zero code.
      onExit: (l) => child.once('exit', (code) => l({ code, signal: null })),
      kill: () => void child.kill(),
    };
  };
}
