// A QR code for a share code, rendered in the page as SVG (no network, no canvas needed). Always
// dark on light so phones can scan it in either theme.
import { useEffect, useState } from 'react';
import { toString as qrToString } from 'qrcode';

export function QrCode({ value, label, size = 176 }: { value: string; label: string; size?: number }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    qrToString(value, { type: 'svg', margin: 1, errorCorrectionLevel: 'M', color: { dark: '#111111ff', light: '#ffffffff' } })
      .then((svg) => {
        if (live) setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
      })
      .catch(() => {
        if (live) setSrc(null);
      });
    return () => {
      live = false;
    };
  }, [value]);
  return (
    <div className="qr" style={{ width: size, height: size }}>
      {src ? <img src={src} width={size} height={size} alt={label} data-testid="qr-code" data-value={value} /> : null}
    </div>
  );
}
