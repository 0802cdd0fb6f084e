import { useState } from 'react';
import type { PeerInfo, PeerTransport, PeerVia, ShareSummary } from '../../../../../shared/api.ts';
import { limits } from '../../../../../shared/validate.ts';
import { formatBytes, formatConnectedFor, formatRate, shortDeviceId } from '../../../store/format.ts';
import { errorMessage } from '../../../store/reducers.ts';
import { useActions } from '../../app-context.tsx';
import { CopyButton, EmptyState, ErrorText, useNow } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';

const viaLabel: Record<PeerVia, string> = { lan: 'LAN', manual: 'Manual address', internet: 'Internet', relay: 'Relay' };
const viaHint: Record<PeerVia, string> = {
  lan: 'Found on the local network',
  manual: 'Connected through an address added by hand',
  internet: 'Direct connection across the internet, through the routers on the way',
  relay: 'No direct path between the devices: traffic goes through a relay (TURN) server, which is slower',
};

const transportLabel: Record<PeerTransport, string> = { datachannel: 'Data over WebRTC', udx: 'Data over udx', tcp: 'Data over TCP' };
const transportHint: Record<PeerTransport, string> = {
  datachannel: 'File data goes over the WebRTC data channel',
  udx: 'File data goes over a direct UDP stream (udx), encrypted with both device certificates',
  tcp: 'File data goes over a direct TCP connection (TLS), encrypted with both device certificates',
};

export function PeersTab({ share, peers }: { share: ShareSummary; peers: PeerInfo[] }) {
  const { addPeer } = useActions();
  const now = useNow();
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const sorted = [...peers].sort((a, b) => Number(b.connected) - Number(a.connected) || a.name.localeCompare(b.name));

  const submit = async () => {
    const a = address.trim();
    if (!a || busy) return;
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      await addPeer(share.id, a);
      setAdded(a);
      setAddress('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="stack">
      {sorted.length === 0 ? (
        <EmptyState icon="users" title="No other devices yet" testid="peers-empty">
          <p>
            Devices that join with one of this folder’s codes appear here once they connect. On the same network they find each other on
            their own; elsewhere, add the other device’s address below.
          </p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="peer-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Status</th>
                <th scope="col">Connection</th>
                <th scope="col" className="num">
                  Download
                </th>
                <th scope="col" className="num">
                  Upload
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((p) => (
                <tr key={p.deviceId} data-testid="peer-row" data-device-id={p.deviceId} data-connected={p.connected}>
                  <td>
                    <div className="peer-name" data-testid="peer-name">
                      <Icon name="monitor" size={15} />
                      {p.name || 'Unnamed device'}
                    </div>
                    <div className="peer-id">
                      <span className="mono muted" title={p.deviceId} data-testid="peer-id">
                        {shortDeviceId(p.deviceId)}
                      </span>
                      <CopyButton text={p.deviceId} label={`Copy the device ID of ${p.name}`} compact />
                    </div>
                  </td>
                  <td>
                    <span className={`conn ${p.connected ? 'is-on' : 'is-off'}`} data-testid="peer-connected">
                      <span className="badge-dot" aria-hidden="true" />
                      {p.connected ? 'Connected' : 'Not connected'}
                    </span>
                    {p.connected && p.connectedSince !== null && (
                      <div className="muted small" data-testid="peer-since" title={new Date(p.connectedSince).toLocaleString()}>
                        for {formatConnectedFor(p.connectedSince, now)}
                      </div>
                    )}
                  </td>
                  <td>
                    <span className={`via via-${p.via}`} title={viaHint[p.via]} data-testid="peer-via" data-via={p.via}>
                      {viaLabel[p.via]}
                    </span>
                    {p.address && (
                      <div className="mono muted small" data-testid="peer-address" title="The other device's address in use">
                        {p.address}
                      </div>
                    )}
                    {p.connected && (
                      <div
                        className="muted small"
                        data-testid="peer-transport"
                        data-transport={p.transport}
                        title={transportHint[p.transport]}
                      >
                        {transportLabel[p.transport]}
                      </div>
                    )}
                  </td>
                  <td className="num" data-testid="peer-in">
                    <div>{formatRate(p.inBytesPerSec)}</div>
                    <div className="muted small">{formatBytes(p.inBytes)} total</div>
                  </td>
                  <td className="num" data-testid="peer-out">
                    <div>{formatRate(p.outBytesPerSec)}</div>
                    <div className="muted small">{formatBytes(p.outBytes)} total</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <form
        className="card inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label htmlFor="add-peer" className="field-label">
          Add a peer address
        </label>
        <p className="field-hint">
          When devices cannot find each other (different networks, discovery off), enter the other device’s address and listening port.
        </p>
        <div className="input-row">
          <input
            id="add-peer"
            className="input mono"
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            placeholder="192.168.1.20:21120"
            spellCheck={false}
            autoComplete="off"
            maxLength={limits.address}
            data-testid="add-peer-input"
          />
          <button type="submit" className="btn btn-secondary" disabled={!address.trim() || busy} data-testid="add-peer-submit">
            <Icon name="plus" size={15} />
            Add
          </button>
        </div>
        {error && <ErrorText testid="add-peer-error">{error}</ErrorText>}
        {added && (
          <p className="field-ok" data-testid="add-peer-ok">
            <Icon name="check" size={14} /> Added {added}. Peerfold will try to connect.
          </p>
        )}
      </form>
    </div>
  );
}
