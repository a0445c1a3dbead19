// One line under the size: how the chosen model will run at this size on this device, before generating.
// The full table is one click away; a size that fits nowhere says so with the planner's advice.

import { useEffect, useState } from 'react';
import type { PlanReport } from '../../shared/vram-plan.js';
import { useI18n } from '../i18n/i18n.js';
import { deviceLine, planLabel, type PlanFor } from './plan-text.js';
import { gb } from './units.js';

/** Sizes change while typing custom dimensions; ask once they settle. */
const ASK_AFTER_MS = 300;

export interface PlanSummaryProps {
  readonly planFor: PlanFor;
  readonly modelId: string;
  readonly width: number;
  readonly height: number;
  /** The chosen speed LoRA: its side branch is planned with the transformer. */
  readonly speedLoraId: string;
}

export function PlanSummary({ planFor, modelId, width, height, speedLoraId }: PlanSummaryProps) {
  const { t, notice } = useI18n();
  const [report, setReport] = useState<PlanReport | undefined>();
  useEffect(() => {
    if (width % 16 || height % 16 || width < 256 || height < 256 || width > 2048 || height > 2048) return;
    let stale = false;
    const timer = setTimeout(() => void planFor(modelId, width, height, speedLoraId ? [speedLoraId] : []).then((r) => !stale && setReport(r)), ASK_AFTER_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [planFor, modelId, width, height, speedLoraId]);
  if (!report) return null;
  const chosen = report.chosen;
  const device = deviceLine(t, report.device);
  return (
    <details className="plan-summary" data-plan={chosen?.kind ?? 'none'}>
      <summary>
        {report.forced
          ? t('plan.forced', { plan: report.forced, device })
          : chosen
            ? t('plan.chosen', { plan: planLabel(t, notice, chosen), peak: gb(chosen.peakVramBytes), seconds: chosen.secondsPerStep.toFixed(2), device })
            : t('plan.none', { device })}
      </summary>
      {!chosen && report.advice && <p className="notice">{notice(report.advice)}</p>}
      {report.device.note && <p className="tip">{notice(report.device.note)}</p>}
      {report.device.unavailable.map((u) => (
        <details className="tip" key={u.provider}>
          <summary>{u.notices?.length ? u.notices.map((n) => notice(n)).join(' ') : t('device.unavailable', { provider: u.provider.toUpperCase() })}</summary>
          <code className="technical">{u.reason}</code>
        </details>
      ))}
      <table>
        <thead>
          <tr>
            <th>{t('plan.col.plan')}</th>
            <th>{t('plan.col.peak')}</th>
            <th>{t('plan.col.step')}</th>
            <th>{t('plan.col.fits')}</th>
          </tr>
        </thead>
        <tbody>
          {report.plans.map((p) => (
            <tr key={`${p.kind}:${p.groupBlocks ?? ''}`} className={p.kind === chosen?.kind && p.groupBlocks === chosen.groupBlocks ? 'chosen' : undefined}>
              <td>{planLabel(t, notice, p)}</td>
              <td>{t('plan.gb', { value: gb(p.peakVramBytes) })}</td>
              <td>{t('plan.seconds', { value: p.secondsPerStep.toFixed(2) })}</td>
              <td>{p.fits ? t('plan.fits') : t('plan.doesNotFit')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
