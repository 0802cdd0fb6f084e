import { useEffect, useState } from 'react';
import type { ShareSummary } from '../../../../../shared/api.ts';
import { errorMessage } from '../../../store/reducers.ts';
import { useActions } from '../../app-context.tsx';
import { ErrorText, Spinner } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';
import { useShareResource } from './use-resource.ts';

export function IgnoreTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'ignore');
  const { saveIgnore } = useActions();
  const saved = res?.data?.text ?? null;
  const [text, setText] = useState<string | null>(null);
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'saving' } | { kind: 'saved' } | { kind: 'error'; message: string }>({
    kind: 'idle',
  });

  // Take the engine's text once it arrives, unless the user already started editing.
  useEffect(() => {
    if (saved !== null && text === null) setText(saved);
  }, [saved, text]);

  if (saved === null || text === null)
    return res?.status === 'error' ? <ErrorText>{res.error}</ErrorText> : <Spinner label="Loading ignore rules" />;
  const dirty = text !== saved;

  return (
    <form
      className="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        setState({ kind: 'saving' });
        try {
          await saveIgnore(share.id, text);
          setState({ kind: 'saved' });
        } catch (err) {
          setState({ kind: 'error', message: errorMessage(err) });
        }
      }}
    >
      <div className="ignore-help muted small">
        <p>
          Files matching these patterns are not synced from this device. One pattern per line, as in{' '}
          <span className="mono">.gitignore</span>: <span className="mono">*.tmp</span> ignores temporary files everywhere,{' '}
          <span className="mono">/build/</span> ignores the build folder at the top, <span className="mono">!keep.tmp</span> brings one
          back, and <span className="mono"># text</span> is a comment.
        </p>
      </div>
      <label htmlFor="ignore-text" className="sr-only">
        Ignore rules
      </label>
      <textarea
        id="ignore-text"
        className="input textarea mono"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (state.kind !== 'saving') setState({ kind: 'idle' });
        }}
        rows={12}
        spellCheck={false}
        placeholder={'# one pattern per line\n*.tmp\nnode_modules/'}
        data-testid="ignore-editor"
      />
      {state.kind === 'error' && <ErrorText testid="ignore-error">{state.message}</ErrorText>}
      <div className="form-actions">
        {state.kind === 'saved' && !dirty && (
          <span className="field-ok" data-testid="ignore-saved">
            <Icon name="check" size={14} /> Saved.
          </span>
        )}
        <button type="button" className="btn btn-ghost" disabled={!dirty} onClick={() => setText(saved)} data-testid="ignore-revert">
          Revert
        </button>
        <button type="submit" className="btn btn-primary" disabled={!dirty || state.kind === 'saving'} data-testid="ignore-save">
          {state.kind === 'saving' ? 'Saving…' : 'Save rules'}
        </button>
      </div>
    </form>
  );
}
