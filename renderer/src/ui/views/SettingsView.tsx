// Device and network settings. The form edits a draft; Save sends only what changed.
import { useEffect, useState, type ReactNode } from 'react';
import type { Settings, TrackerInfo } from '../../../../shared/api.ts';
import { limits } from '../../../../shared/validate.ts';
import {
  DEFAULT_STUN_SERVERS,
  DEFAULT_TRACKERS,
  parseServerList,
  parseStunUrl,
  parseTrackerUrl,
  parseTurnUrl,
  type Parsed,
} from '../../../../shared/net-servers.ts';
import { errorMessage } from '../../store/reducers.ts';
import { trackerLine } from '../../store/tracker-status.ts';
import { shortDeviceId } from '../../store/format.ts';
import { useApp, useAppState } from '../app-context.tsx';
import { CopyButton, ErrorText, Spinner } from '../components/bits.tsx';
import { Icon } from '../components/Icon.tsx';

type Draft = { [K in keyof Settings]: Settings[K] extends number | string[] ? string : Settings[K] };

type ServerListKey = 'trackers' | 'stunServers' | 'turnServers';
const serverLists: [ServerListKey, string, (url: string) => Parsed<unknown>][] = [
  ['trackers', 'Trackers', parseTrackerUrl],
  ['stunServers', 'STUN servers', parseStunUrl],
  ['turnServers', 'TURN servers', parseTurnUrl],
];

const toDraft = (s: Settings): Draft => ({
  ...s,
  trackers: s.trackers.join('\n'),
  stunServers: s.stunServers.join('\n'),
  turnServers: s.turnServers.join('\n'),
  listenPort: String(s.listenPort),
  maxSendKBps: String(s.maxSendKBps),
  maxRecvKBps: String(s.maxRecvKBps),
  archiveDays: String(s.archiveDays),
});

/** The draft as a patch of changed settings, or the first problem found. */
function diffDraft(d: Draft, s: Settings, allowStartAtLogin: boolean): { patch: Partial<Settings>; problem: string | null } {
  const patch: Partial<Settings> = {};
  const int = (v: string, what: string, max: number): number | string => {
    const t = v.trim();
    if (!/^\d+$/.test(t) || Number(t) > max) return `${what} must be a whole number from 0 to ${max.toLocaleString('en-US')}.`;
    return Number(t);
  };
  const name = d.deviceName.trim();
  if (!name) return { patch, problem: 'The device name cannot be empty.' };
  if (name !== s.deviceName) patch.deviceName = name;
  const fields: [keyof Settings & ('listenPort' | 'maxSendKBps' | 'maxRecvKBps' | 'archiveDays'), string, number][] = [
    ['listenPort', 'The listening port', 65535],
    ['maxSendKBps', 'The upload limit', limits.bigCount],
    ['maxRecvKBps', 'The download limit', limits.bigCount],
    ['archiveDays', 'The archive time', limits.bigCount],
  ];
  for (const [key, what, max] of fields) {
    const v = int(d[key], what, max);
    if (typeof v === 'string') return { patch, problem: v };
    if (v !== s[key]) patch[key] = v;
  }
  if (d.lanDiscovery !== s.lanDiscovery) patch.lanDiscovery = d.lanDiscovery;
  if (d.lanOnly !== s.lanOnly) patch.lanOnly = d.lanOnly;
  if (d.limitLan !== s.limitLan) patch.limitLan = d.limitLan;
  // one server per line (commas work too); checked as the engine checks them
  for (const [key, what, parseOne] of serverLists) {
    const r = parseServerList(d[key].split(/[\n,]/), what, parseOne);
    if (!r.ok) return { patch, problem: `${r.error}.` };
    if (JSON.stringify(r.value) !== JSON.stringify(s[key])) patch[key] = r.value;
  }
  if (allowStartAtLogin && d.startAtLogin !== s.startAtLogin) patch.startAtLogin = d.startAtLogin;
  return { patch, problem: null };
}

/** The trackers' status in the order the settings list them (refused ones come last from the engine). */
const sortedLike = (trackers: readonly TrackerInfo[], order: readonly string[]): TrackerInfo[] =>
  [...trackers].sort((a, b) => rank(order, a.url) - rank(order, b.url));
const rank = (order: readonly string[], url: string): number => (order.includes(url) ? order.indexOf(url) : order.length);

/** Whether a server list in the draft has an entry the engine would refuse (its field is marked). */
const badList = (d: Draft, key: ServerListKey): boolean => {
  const [, what, parseOne] = serverLists.find(([k]) => k === key)!;
  return !parseServerList(d[key].split(/[\n,]/), what, parseOne).ok;
};

export function SettingsView() {
  const { actions, bridge } = useApp();
  const settings = useAppState((s) => s.settings);
  const device = useAppState((s) => s.device);
  const trackers = useAppState((s) => s.trackers);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [state, setState] = useState<{ kind: 'idle' | 'saving' | 'saved' } | { kind: 'error'; message: string }>({ kind: 'idle' });
  const canStartAtLogin = bridge.capabilities.startAtLogin;

  useEffect(() => {
    if (settings && !draft) setDraft(toDraft(settings));
  }, [settings, draft]);

  if (!settings || !draft) return <Spinner label="Loading settings" />;
  const { patch, problem } = diffDraft(draft, settings, canStartAtLogin);
  const dirty = Object.keys(patch).length > 0;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setDraft({ ...draft, [k]: v });
    if (state.kind !== 'saving') setState({ kind: 'idle' });
  };

  const save = async () => {
    if (problem || !dirty) return;
    setState({ kind: 'saving' });
    try {
      const next = await actions.saveSettings(patch);
      setDraft(toDraft(next));
      setState({ kind: 'saved' });
    } catch (err) {
      setState({ kind: 'error', message: errorMessage(err) });
    }
  };

  return (
    <section className="view" aria-labelledby="settings-title">
      <header className="view-header">
        <div>
          <h1 id="settings-title" className="view-title">
            Settings
          </h1>
          <p className="view-subtitle">How this device appears to others and how it uses the network.</p>
        </div>
      </header>

      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <fieldset className="card settings-group">
          <legend className="settings-legend">This device</legend>
          <Setting id="set-name" label="Device name" hint="Shown to the other devices you sync with.">
            <input
              id="set-name"
              className="input"
              value={draft.deviceName}
              onChange={(e) => set('deviceName', e.target.value)}
              maxLength={limits.deviceName}
              data-testid="settings-device-name"
            />
          </Setting>
          {device && (
            <div className="setting">
              <div className="setting-text">
                <span className="field-label">Device ID</span>
                <p className="field-hint">Identifies this device to its peers. Version {device.version}.</p>
              </div>
              <div className="device-id-box">
                <code className="mono truncate" title={device.id} data-testid="settings-device-id">
                  {device.id.length > 40 ? `${shortDeviceId(device.id)} ${device.id.slice(-8)}` : device.id}
                </code>
                <CopyButton text={device.id} label="Copy this device’s ID" testid="settings-copy-device-id" />
              </div>
            </div>
          )}
          {canStartAtLogin && (
            <Setting id="set-login" label="Start at login" hint="Open Peerfold in the tray when you sign in.">
              <Switch
                id="set-login"
                checked={draft.startAtLogin}
                onChange={(v) => set('startAtLogin', v)}
                testid="settings-start-at-login"
              />
            </Setting>
          )}
        </fieldset>

        <fieldset className="card settings-group">
          <legend className="settings-legend">Network</legend>
          <div className="setting">
            <div className="setting-text">
              <label htmlFor="set-port" className="field-label">
                Listening port
              </label>
              <p className="field-hint">
                Where other devices connect to this one. 0 picks a free port.{' '}
                {device?.listenPort ? `In use now: ${device.listenPort}.` : ''}
              </p>
            </div>
            <input
              id="set-port"
              className="input input-num"
              inputMode="numeric"
              value={draft.listenPort}
              onChange={(e) => set('listenPort', e.target.value)}
              data-testid="settings-listen-port"
            />
          </div>
          <Setting
            id="set-lan"
            label="Find devices on the local network"
            hint="Announces this device’s shares on the LAN so nearby devices connect directly."
          >
            <Switch id="set-lan" checked={draft.lanDiscovery} onChange={(v) => set('lanDiscovery', v)} testid="settings-lan-discovery" />
          </Setting>
          <Setting id="set-down" label="Download limit" hint="In kB/s. 0 means no limit.">
            <UnitInput
              id="set-down"
              unit="kB/s"
              value={draft.maxRecvKBps}
              onChange={(v) => set('maxRecvKBps', v)}
              testid="settings-max-recv"
            />
          </Setting>
          <Setting id="set-up" label="Upload limit" hint="In kB/s. 0 means no limit.">
            <UnitInput
              id="set-up"
              unit="kB/s"
              value={draft.maxSendKBps}
              onChange={(v) => set('maxSendKBps', v)}
              testid="settings-max-send"
            />
          </Setting>
          <Setting
            id="set-limit-lan"
            label="Limits apply on the LAN too"
            hint="Off: the upload and download limits apply only to devices outside the local network."
          >
            <Switch id="set-limit-lan" checked={draft.limitLan} onChange={(v) => set('limitLan', v)} testid="settings-limit-lan" />
          </Setting>
        </fieldset>

        <fieldset className="card settings-group">
          <legend className="settings-legend">Across the internet</legend>
          <div className="setting">
            <div className="setting-text">
              <label htmlFor="set-lan-only" className="field-label">
                LAN only
              </label>
              <p className="field-hint">
                No trackers, STUN or TURN servers: devices are found on the local network or by an address given by hand.
              </p>
            </div>
            <Switch id="set-lan-only" checked={draft.lanOnly} onChange={(v) => set('lanOnly', v)} testid="settings-lan-only" />
          </div>
          <ServerList
            id="set-trackers"
            label="Trackers"
            hint={`WebTorrent trackers (ws:// or wss://) that introduce your devices to each other; they see a daily-changing ID and your address, never your files. Default: ${DEFAULT_TRACKERS.join(', ')}.`}
            value={draft.trackers}
            disabled={draft.lanOnly}
            invalid={badList(draft, 'trackers')}
            onChange={(v) => set('trackers', v)}
            testid="settings-trackers"
          >
            {!draft.lanOnly && trackers.length > 0 && (
              <ul className="server-status" data-testid="settings-tracker-status" aria-label="Trackers now">
                {sortedLike(trackers, settings.trackers).map((t) => {
                  const line = trackerLine(t);
                  return (
                    <li key={t.url} data-state={t.state}>
                      <span className={`dot dot-tracker-${line.tone}`} aria-hidden="true" />
                      <span className="mono server-status-url">{t.url}</span>
                      <span className="muted">{line.text}</span>
                    </li>
                  );
                })}
              </ul>
            )}
          </ServerList>
          <ServerList
            id="set-stun"
            label="STUN servers"
            hint={`stun:HOST:PORT. Tell a device behind a router its public address. Default: ${DEFAULT_STUN_SERVERS.join(', ')}.`}
            value={draft.stunServers}
            disabled={draft.lanOnly}
            invalid={badList(draft, 'stunServers')}
            onChange={(v) => set('stunServers', v)}
            testid="settings-stun"
          />
          <ServerList
            id="set-turn"
            label="TURN relays"
            hint="turn:USER:PASS@HOST:PORT?transport=udp (or tcp). Carry the (encrypted) traffic when no direct path exists. None by default."
            value={draft.turnServers}
            disabled={draft.lanOnly}
            invalid={badList(draft, 'turnServers')}
            onChange={(v) => set('turnServers', v)}
            testid="settings-turn"
          />
        </fieldset>

        <fieldset className="card settings-group">
          <legend className="settings-legend">History</legend>
          <Setting id="set-archive" label="Keep old versions for" hint="Deleted and replaced files stay in each share’s archive this long.">
            <UnitInput
              id="set-archive"
              unit="days"
              value={draft.archiveDays}
              onChange={(v) => set('archiveDays', v)}
              testid="settings-archive-days"
            />
          </Setting>
        </fieldset>

        <div className="form-actions sticky-actions">
          {problem && <ErrorText testid="settings-problem">{problem}</ErrorText>}
          {state.kind === 'error' && <ErrorText testid="settings-error">{state.message}</ErrorText>}
          {state.kind === 'saved' && !dirty && (
            <span className="field-ok" data-testid="settings-saved">
              <Icon name="check" size={14} /> Saved.
            </span>
          )}
          <button
            type="button"
            className="btn btn-ghost"
            disabled={!dirty}
            onClick={() => setDraft(toDraft(settings))}
            data-testid="settings-revert"
          >
            Revert
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={!dirty || !!problem || state.kind === 'saving'}
            data-testid="settings-save"
          >
            {state.kind === 'saving' ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </form>
    </section>
  );
}

function ServerList(p: {
  id: string;
  label: string;
  hint: string;
  value: string;
  disabled: boolean;
  invalid: boolean;
  onChange: (v: string) => void;
  testid: string;
  children?: ReactNode;
}) {
  // one URL per line, whole: as many rows as there are entries (and one to add), never wrapped
  const rows = Math.min(8, Math.max(2, p.value.split('\n').filter((l) => l.trim()).length + 1));
  return (
    <Setting id={p.id} label={p.label} hint={`${p.hint} One per line.`} stacked>
      <textarea
        id={p.id}
        className={`input mono server-list${p.invalid ? ' is-invalid' : ''}`}
        aria-invalid={p.invalid}
        rows={rows}
        wrap="off"
        spellCheck={false}
        value={p.value}
        disabled={p.disabled}
        onChange={(e) => p.onChange(e.target.value)}
        data-testid={p.testid}
      />
      {p.children}
    </Setting>
  );
}

function Switch({ id, checked, onChange, testid }: { id: string; checked: boolean; onChange: (v: boolean) => void; testid: string }) {
  return (
    <span className="switch">
      <input id={id} type="checkbox" role="switch" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testid} />
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
    </span>
  );
}

/** One setting: its label and hint beside the control. */
function Setting(p: { id: string; label: string; hint: string; stacked?: boolean; children: ReactNode }) {
  return (
    <div className={p.stacked ? 'setting setting-stacked' : 'setting'}>
      <div className="setting-text">
        <label htmlFor={p.id} className="field-label">
          {p.label}
        </label>
        <p className="field-hint">{p.hint}</p>
      </div>
      {p.children}
    </div>
  );
}

/** A whole number with its unit after it. */
function UnitInput(p: { id: string; unit: string; value: string; onChange: (v: string) => void; testid: string }) {
  return (
    <div className="input-unit">
      <input
        id={p.id}
        className="input input-num"
        inputMode="numeric"
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        data-testid={p.testid}
      />
      <span className="muted">{p.unit}</span>
    </div>
  );
}
