// The LoRAs a request can name, by id: the library's entries (with the cards the UI shows) and files
// named on the command line; resolves a request's choice into files, roles and a speed preset.

import { basename, relative } from 'node:path';
import type { ImportOutcome, LoraCard } from '../../shared/contract.js';
import { speedPresetById, speedPresetFor, type SpeedPreset } from '../../shared/lora-presets.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import type { WorkerLora } from '../../shared/worker-protocol.js';
import type { FileUrls } from '../file-urls.js';
import type { LibraryLora, LoraLibrary } from '../library/lora-library.js';

export interface RegisteredLora {
  readonly id: string;
  readonly file: string;
  /** What the user calls it (library folder name, or the file name). */
  readonly name: string;
  /** The speed preset it was recognised as, if any. */
  readonly presetId?: string;
}

export type ResolvedLora = WorkerLora & { readonly name: string };

export class LoraRegistry {
  private readonly files = new Map<string, RegisteredLora>();
  private readonly cards = new Map<string, LoraCard>();
  /** Each card's preview image, relative to the library folder. */
  private readonly previews = new Map<string, string>();

  constructor(
    readonly library: LoraLibrary,
    private readonly urls: () => FileUrls,
  ) {}

  /** Loads the library so its entries can be used by id. */
  async load(): Promise<readonly LoraCard[]> {
    for (const l of await this.library.list()) this.addLibraryLora(l);
    return this.list();
  }

  private addLibraryLora(l: LibraryLora): LoraCard {
    this.registerFile(l.id, l.file, l.name);
    const preset = l.report.preset ? speedPresetById(l.report.preset) : undefined;
    const card: LoraCard = {
      id: l.id,
      name: l.name,
      sha256: l.sha256,
      role: l.report.role,
      ...(preset ? { preset: { id: preset.id, label: preset.label, steps: preset.steps, guidance: preset.guidance } } : {}),
      architecture: l.report.architecture,
      runnable: l.report.runnable,
      rank: l.report.rank,
      triggerWords: l.report.triggerWords,
      ...(l.report.baseModel ? { baseModel: l.report.baseModel } : {}),
    };
    this.cards.set(l.id, card);
    if (l.preview) this.previews.set(l.id, relative(this.library.dir, l.preview));
    else this.previews.delete(l.id);
    return this.withPreview(card);
  }

  /** Preview links are made when a card is handed out: the browser host's links expire. */
  private withPreview(card: LoraCard): LoraCard {
    const preview = this.previews.get(card.id);
    return preview === undefined ? card : { ...card, previewUrl: this.urls().lora(preview) };
  }

  /** The library as the UI shows it: speed LoRAs first, then styles, by name. */
  list(): LoraCard[] {
    return [...this.cards.values()].sort((a, b) => a.role.localeCompare(b.role) || a.name.localeCompare(b.name)).map((c) => this.withPreview(c));
  }

  /** Imports a file into the library; refusals come back as outcomes, not exceptions. */
  async import(file: string, displayName = basename(file)): Promise<ImportOutcome> {
    try {
      const { lora, duplicate } = await this.library.import(file, displayName);
      return { ok: true, file: displayName, lora: this.addLibraryLora(lora), duplicate };
    } catch (e) {
      if (e instanceof StudioError) return { ok: false, file: displayName, error: e.toJSON() };
      throw e;
    }
  }

  /** Removes a LoRA from the library and from what requests can name. */
  async remove(id: string): Promise<boolean> {
    const removed = await this.library.remove(id);
    this.cards.delete(id);
    this.files.delete(id);
    this.previews.delete(id);
    return removed;
  }

  /** Makes an image file the LoRA card's preview. */
  async setPreview(id: string, image: string): Promise<LoraCard> {
    return this.addLibraryLora(await this.library.setPreview(id, image));
  }

  /** Makes a LoRA file available under an id (the CLI's --lora; library entries by their id). */
  registerFile(id: string, file: string, name = basename(file)): RegisteredLora {
    const preset = speedPresetFor(name);
    const lora: RegisteredLora = { id, file, name, ...(preset ? { presetId: preset.id } : {}) };
    this.files.set(id, lora);
    return lora;
  }

  /** The architecture inspection reported for a library LoRA (files named on the command line were not inspected). */
  architectureOf(id: string): string | undefined {
    return this.cards.get(id)?.architecture;
  }

  /** Every LoRA a request can name: the library's and files named on the command line. */
  entries(): readonly RegisteredLora[] {
    return [...this.files.values()];
  }

  /**
   * The LoRA a prompt names as A1111 does (`<lora:name:0.7>`): by its name in the library or its file name
   * without the extension; exact matches first, then ignoring case.
   */
  findByName(name: string): RegisteredLora | undefined {
    const all = [...this.files.values()];
    const keys = (l: RegisteredLora) => [l.name, basename(l.file).replace(/\.safetensors$/i, '')];
    return all.find((l) => keys(l).includes(name)) ?? all.find((l) => keys(l).some((k) => k.toLowerCase() === name.toLowerCase()));
  }

  /** The LoRAs of a request as files with roles; a speed LoRA brings its sampler preset. */
  resolve(requested: readonly { readonly id: string; readonly strength: number }[]): { loras: ResolvedLora[]; preset: SpeedPreset | undefined } {
    let preset: SpeedPreset | undefined;
    const loras = requested.map(({ id, strength }): ResolvedLora => {
      const lora = this.files.get(id);
      if (!lora) throw new StudioError('not-found', notice('error.loraUnknown', { id }), id);
      const speed = lora.presetId ? speedPresetById(lora.presetId) : undefined;
      if (speed && preset) throw new StudioError('invalid-request', notice('error.twoSpeedLoras', { first: preset.label, second: speed.label }));
      preset ??= speed;
      return { file: lora.file, strength, role: speed ? 'speed' : 'style', name: lora.name };
    });
    return { loras, preset };
  }
}
