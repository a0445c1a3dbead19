// What the studio accepts as "a model folder I already have": an absolute path to an existing folder
// (not a drive's root, not the studio's own data), resolved through links. The worker then checks that
// it really is a model it can run.

import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, parse, resolve } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';

export async function checkModelFolderPath(path: string): Promise<string> {
  const typed = path.trim();
  if (typed.includes('\0') || !isAbsolute(typed)) throw new StudioError('invalid-request', notice('error.folderNotAbsolute', { path: typed.slice(0, 500) }), typed);
  const info = await stat(typed).catch(() => undefined);
  if (!info) throw new StudioError('not-found', notice('error.folderMissing', { path: typed }), typed);
  if (!info.isDirectory()) throw new StudioError('invalid-request', notice('error.folderNotFolder', { path: typed }), typed);
  const real = await realpath(resolve(typed));
  if (parse(real).root === real) throw new StudioError('invalid-request', notice('error.folderIsRoot', { path: real }), real);
  return real;
}
