// The route lives in the URL's hash (#/shares, #/share/<id>/peers, #/join, ...), so a reload, the
// back button and the Electron shell (which can load index.html#/join for "Join with a code…")
// all land on the same view. Pure parse/format.
import { detailTabs, type DetailTab, type Route } from './state.ts';

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [pathPart, query = ''] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map(safeDecode);
  const q = new URLSearchParams(query);
  switch (parts[0]) {
    case 'share': {
      if (!parts[1]) return { view: 'shares' };
      const tab = (detailTabs as readonly string[]).includes(parts[2] ?? '') ? (parts[2] as DetailTab) : 'codes';
      return { view: 'share', shareId: parts[1], tab };
    }
    case 'join': {
      const code = q.get('code');
      return code ? { view: 'join', code } : { view: 'join' };
    }
    case 'conflicts':
      return { view: 'conflicts' };
    case 'settings':
      return { view: 'settings' };
    case 'shares':
      return parts[1] === 'new' ? { view: 'shares', dialog: 'share' } : { view: 'shares' };
    default:
      return { view: 'shares' };
  }
}

export function routeToHash(route: Route): string {
  switch (route.view) {
    case 'share':
      return `#/share/${encodeURIComponent(route.shareId)}/${route.tab}`;
    case 'join':
      return route.code ? `#/join?code=${encodeURIComponent(route.code)}` : '#/join';
    case 'conflicts':
      return '#/conflicts';
    case 'settings':
      return '#/settings';
    case 'shares':
      return route.dialog === 'share' ? '#/shares/new' : '#/shares';
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
