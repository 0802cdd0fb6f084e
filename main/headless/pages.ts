// The two pages the daemon renders itself: the login page (all an unauthenticated request ever
// gets) and the placeholder shown when the renderer has not been built.

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const style = `
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }
  main { max-width: 28rem; padding: 2rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
  p { line-height: 1.5; }
  code { font-family: ui-monospace, monospace; background: color-mix(in srgb, CanvasText 10%, transparent); padding: .1em .3em; border-radius: 4px; }
  form { display: flex; gap: .5rem; margin-top: 1rem; }
  input { flex: 1; font: inherit; padding: .5rem; border-radius: 6px; border: 1px solid GrayText; }
  button { font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 0; background: #2f6fde; color: white; cursor: pointer; }
  .error { color: #c62828; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><main>${body}</main></body></html>
`;
}

export function loginPage(error?: string): string {
  return page(
    'Peerfold: sign in',
    `<h1>Peerfold</h1>
<p>This Peerfold daemon needs its access token. Open the address the daemon printed when it started
(<code>http://127.0.0.1:PORT/?token=…</code>), or paste the token here. It is in the file
<code>control-token</code> in the daemon's home folder.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login">
<input name="token" type="password" autocomplete="current-password" aria-label="Access token" placeholder="Access token" required autofocus>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function placeholderPage(): string {
  return page(
    'Peerfold',
    `<h1>Peerfold is running</h1>
<p>The daemon is up and you are signed in, but the web interface has not been built yet.
Run <code>npm run build</code> in the Peerfold folder, then reload this page.</p>
<p>Meanwhile the command line works: <code>bin/peerfold status</code>.</p>`,
  );
}
