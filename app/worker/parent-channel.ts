// The worker's side of its link to the main process: an Electron utility process or a Node child process.

import type { FromWorker } from '../shared/worker-protocol.js';

export interface ParentChannel {
  send(message: FromWorker): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Electron sets process.parentPort in a utilityProcess; Node's fork() sets process.send. Same code either way. */
export function connectToParent(): ParentChannel {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (parentPort) {
    return {
      send: (m) => parentPort.postMessage(m),
      onMessage: (listener) => parentPort.on('message', (e) => listener(e.data)),
    };
  }
  const send = process.send?.bind(process);
  if (send) {
    // The parent going away (crash or exit) must not leave an orphan holding gigabytes of weights.
    process.on('disconnect', () => process.exit(0));
    return {
      send: (m) => void send(m),
      onMessage: (listener) => process.on('message', listener),
    };
  }
  throw new Error('The studio worker must be started by the studio (it has no parent channel).');
}
