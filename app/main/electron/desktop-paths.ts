// Where the desktop app keeps what is not the studio's data, and where a packaged app's unpacked files are.

import { basename, dirname, join, relative, isAbsolute, sep } from 'node:path';

/** Whether `child` is `parent` or inside it. */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Chromium's profile (caches, local storage) for the app window. Electron puts it in appData/<productName>,
 * which on Windows (%APPDATA%\Studio) and macOS (~/Library/Application Support/Studio) is the studio's own
 * data folder: megabytes of browser caches would sit among the user's images and history. It goes to
 * the per-machine Local folder on Windows, a sibling folder on macOS, ~/.config/Studio on Linux, and
 * never inside the data folder, wherever STUDIO_DATA_DIR puts that.
 */
export function chromiumProfileDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string, dataDir: string): string {
  let dir: string;
  if (platform === 'win32') dir = join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'Studio', 'Browser profile');
  else if (platform === 'darwin') dir = join(home, 'Library', 'Application Support', 'Studio Browser Profile');
  else dir = join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Studio');
  return isInside(dir, dataDir) || isInside(dataDir, dir) ? join(dirname(dataDir), `${basename(dataDir)} browser profile`) : dir;
}

/**
 * The same path in app.asar.unpacked: where electron-builder puts the files listed in asarUnpack. A
 * utilityProcess entry and the native modules it loads must be read from there, not from the archive.
 */
export function unpackedPath(path: string, separator: string = sep): string {
  const packed = `${separator}app.asar${separator}`;
  return path.includes(packed) ? path.replace(packed, `${separator}app.asar.unpacked${separator}`) : path;
}
