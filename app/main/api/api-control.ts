// Starts and stops the A1111-compatible API: from the command line (`studio serve --api`, for that run) or
// from the user's setting (saved in the data folder as api-settings.json, applied whenever a host starts).
// The chosen checkpoint (A1111's sd_model_checkpoint option) is saved there too, as A1111 saves it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { A1111ApiState, ValidParams } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { serializeError, StudioError, type SerializedError } from '../../shared/result.js';
import { writeFileAtomic } from '../images/save-image.js';
import type { Studio } from '../studio.js';
import { A1111Service } from './a1111-service.js';
import { startApiServer, type ApiCredential, type ApiServer } from './api-server.js';

/** A1111's port: what Open WebUI, SillyTavern and webuiapi try first. */
export const DEFAULT_API_PORT = 7860;

const settingsSchema = z.object({
  enabled: z.boolean().catch(false),
  port: z.number().int().min(1024).max(65535).catch(DEFAULT_API_PORT),
  keepUnsavedImages: z.boolean().catch(true),
  username: z.string().catch(''),
  password: z.string().catch(''),
  checkpoint: z.string().optional().catch(undefined),
});
type ApiSettings = z.output<typeof settingsSchema>;
const DEFAULTS: ApiSettings = { enabled: false, port: DEFAULT_API_PORT, keepUnsavedImages: true, username: '', password: '' };

export interface CommandLineApi {
  readonly host: string;
  readonly port: number;
  readonly credentials: readonly ApiCredential[];
  readonly corsOrigins: readonly string[];
}

export class ApiControl {
  private server: ApiServer | undefined;
  private service: A1111Service | undefined;
  private fromCommandLine = false;
  private error: SerializedError | undefined;
  private current: ApiSettings;

  constructor(
    private readonly studio: Studio,
    private readonly file = join(studio.layout.root, 'api-settings.json'),
  ) {
    this.current = this.read();
  }

  /** A missing or damaged file is the defaults: the setting must never stop the studio from starting. */
  private read(): ApiSettings {
    try {
      return settingsSchema.parse({ ...DEFAULTS, ...(JSON.parse(readFileSync(this.file, 'utf8')) as object) });
    } catch {
      return DEFAULTS;
    }
  }

  private async save(next: ApiSettings): Promise<void> {
    await writeFileAtomic(this.file, Buffer.from(`${JSON.stringify(next, null, 2)}\n`));
    this.current = next;
  }

  state(): A1111ApiState {
    const s = this.current;
    return {
      enabled: s.enabled,
      port: s.port,
      keepUnsavedImages: s.keepUnsavedImages,
      username: s.username,
      hasPassword: s.password !== '',
      running: this.server !== undefined,
      url: this.server?.url ?? null,
      fromCommandLine: this.fromCommandLine,
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private async start(options: CommandLineApi): Promise<ApiServer> {
    await this.stop();
    const service = new A1111Service({
      studio: this.studio,
      keepUnsavedImages: () => this.current.keepUnsavedImages,
      checkpoint: {
        get: () => this.current.checkpoint,
        set: (id) => {
          this.current = { ...this.current, checkpoint: id };
          // Kept for the next launch; a failure to write only loses that.
          this.save(this.current).catch((e: unknown) => console.error(`studio: could not save the API setting: ${String(e)}`));
        },
      },
    });
    try {
      this.server = await startApiServer({ service, ...options });
      this.service = service;
      this.error = undefined;
      return this.server;
    } catch (e) {
      service.dispose();
      throw e;
    }
  }

  /** `studio serve --api`: this run follows the command line, whatever the setting says. */
  async startFromCommandLine(options: CommandLineApi): Promise<ApiServer> {
    const server = await this.start(options);
    this.fromCommandLine = true;
    return server;
  }

  private credentials(s: ApiSettings): ApiCredential[] {
    return s.username !== '' && s.password !== '' ? [{ user: s.username, password: s.password }] : [];
  }

  /** At host start: serves the API when the setting says so; a failure (a port in use) is reported in the state. */
  async restore(): Promise<A1111ApiState> {
    if (this.current.enabled && !this.fromCommandLine) {
      try {
        await this.start({ host: '127.0.0.1', port: this.current.port, credentials: this.credentials(this.current), corsOrigins: [] });
      } catch (e) {
        this.error = serializeError(e);
      }
    }
    return this.state();
  }

  /** The setting changed in the app: save it, then start, restart or stop to match. */
  async configure(p: ValidParams<'a1111.configure'>): Promise<A1111ApiState> {
    if (this.fromCommandLine) throw new StudioError('invalid-request', notice('error.apiFromCommandLine'));
    const password = p.password ?? this.current.password;
    if ((p.username === '') !== (password === '') && p.enabled) throw new StudioError('invalid-request', notice('error.apiCredentialsHalf'));
    await this.save({ ...this.current, enabled: p.enabled, port: p.port, keepUnsavedImages: p.keepUnsavedImages, username: p.username, password });
    this.error = undefined;
    if (!p.enabled) await this.stop();
    else {
      try {
        await this.start({ host: '127.0.0.1', port: p.port, credentials: this.credentials(this.current), corsOrigins: [] });
      } catch (e) {
        this.error = serializeError(e);
      }
    }
    return this.state();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.service?.dispose();
    this.service = undefined;
    await server?.close();
  }
}
