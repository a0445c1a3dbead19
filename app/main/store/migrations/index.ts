// The ordered registry of schema migrations; version n is entry n-1 and is checked at start.

import type { Db } from '../database.js';
import { migration0001 } from './0001-generations.js';
import { migration0002 } from './0002-favorites.js';
import { migration0003 } from './0003-search-loras.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Db): void;
}

export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003];
