import type { AccessLevel, ShareCodes, ShareSummary } from '../../../../../shared/api.ts';
import { accessHint, accessLabel } from '../../../store/derive.ts';
import { CopyButton, ErrorText, Spinner } from '../../components/bits.tsx';
import { QrCode } from '../../components/QrCode.tsx';
import { InvitesPanel } from './InvitesPanel.tsx';
import { useShareResource } from './use-resource.ts';

const rows: { level: AccessLevel; key: keyof ShareCodes; testid: string }[] = [
  { level: 'read-write', key: 'readWrite', testid: 'read-write' },
  { level: 'read-only', key: 'readOnly', testid: 'read-only' },
  { level: 'encrypted', key: 'encrypted', testid: 'encrypted' },
];

export function CodesTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'codes');
  const codes = res?.data;

  if (!codes) return res?.status === 'error' ? <ErrorText>{res.error}</ErrorText> : <Spinner label="Loading codes" />;

  return (
    <div className="codes-list">
      <p className="muted">
        Give a code to another device or person. Whoever enters it, or scans its QR code, joins this folder with the access it grants. Each
        level can only hand out its own level or a lower one.
      </p>
      {rows.map((r) => {
        const code = codes[r.key];
        return (
          <div key={r.level} className={`code-card ${code ? 'has-qr' : 'is-unavailable'}`} data-testid={`code-card-${r.testid}`}>
            <div className="code-card-text">
              <div className="code-card-head">
                <span className={`access access-${r.level}`}>{accessLabel[r.level]}</span>
                <span className="muted code-hint" data-testid={`code-grants-${r.testid}`}>
                  {accessHint[r.level]}
                </span>
              </div>
              {code ? (
                <div className="code-line">
                  <code className="code-value" data-testid={`code-${r.testid}`}>
                    {code}
                  </code>
                  <CopyButton text={code} label={`Copy the ${accessLabel[r.level].toLowerCase()} code`} testid={`copy-code-${r.testid}`} />
                </div>
              ) : (
                <div className="muted code-none">
                  Not available: this device only holds {accessLabel[share.access].toLowerCase()} access.
                </div>
              )}
            </div>
            {code && <QrCode value={code} label={`QR code of the ${accessLabel[r.level].toLowerCase()} code`} size={112} />}
          </div>
        );
      })}
      <InvitesPanel share={share} />
    </div>
  );
}
