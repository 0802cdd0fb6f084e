// How the settings page words each tracker's state from status (pure).
import type { TrackerInfo } from '../../../shared/api.ts';

export type TrackerTone = 'ok' | 'busy' | 'bad' | 'off';

export function trackerLine(t: TrackerInfo): { tone: TrackerTone; text: string } {
  switch (t.state) {
    case 'connected':
      return {
        tone: 'ok',
        text: t.announced === 0 ? 'connected' : `connected, announcing ${t.announced} share${t.announced === 1 ? '' : 's'}`,
      };
    case 'connecting':
      return { tone: 'busy', text: t.error ? `connecting again (last: ${t.error})` : 'connecting' };
    case 'waiting':
      return { tone: 'bad', text: t.error ? `unreachable, retrying: ${t.error}` : 'unreachable, retrying' };
    case 'refused':
      return { tone: 'off', text: `not used: ${t.error ?? 'refused'}` };
  }
}
