// The joiner's end of an invite redemption (PROTOCOL.md, "Invites"): over a pipe to the device
// the invite names, the handshake's hello (the certificate must be that device's), then
// inviteClaim instead of auth, and the issuer's inviteAnswer. The link carries nothing else and
// is closed when the answer arrives, or when the time is up.

import { HANDSHAKE_TIMEOUT_MS, Handshake, type LocalEnd } from '../protocol/handshake.ts';
import type { InviteTerms } from '../protocol/invite-proof.ts';
import { decodeMessage, encodeMessage, type InviteAnswer, type Message } from '../protocol/messages.ts';
import { channelOf, type LinkOrigin, type MessagePipe } from './pipe.ts';

export type ClaimResult = { ok: true; answer: InviteAnswer } | { ok: false; error: string };

export function claimInvite(
  pipe: MessagePipe,
  origin: LinkOrigin,
  local: LocalEnd,
  terms: InviteTerms,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<ClaimResult> {
  const control = channelOf(pipe, 'index');
  const handshake = new Handshake({
    local,
    remoteFingerprint: origin.remoteFingerprint,
    shares: [],
    expectDeviceId: terms.issuer,
    claim: terms,
  });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ClaimResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
      // let a close message go out first
      setTimeout(() => pipe.close(r.ok ? 'invite answered' : r.error), 50).unref();
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'the issuing device did not answer the invite in time' }), timeoutMs);
    timer.unref();
    const send = (msgs: Message[]) => {
      let p = Promise.resolve();
      for (const m of msgs) p = p.then(() => control.send(encodeMessage(m)));
      p.catch((err) => finish({ ok: false, error: `sending failed: ${(err as Error).message}` }));
    };
    pipe.onClose((reason) => finish({ ok: false, error: `the connection closed: ${reason}` }));
    control.onMessage((bytes) => {
      if (settled) return;
      let msg: Message;
      try {
        msg = decodeMessage(bytes);
      } catch (err) {
        return finish({ ok: false, error: `the issuing device sent a malformed message: ${(err as Error).message}` });
      }
      const step = handshake.receive(msg);
      send(step.send);
      const out = step.outcome;
      if (!out) return;
      if ('answer' in out) finish({ ok: true, answer: out.answer });
      else
        finish({
          ok: false,
          error: out.accepted ? 'the issuing device accepted a share handshake instead of answering the invite' : out.reason,
        });
    });
    // the data channel carries nothing on such a link
    channelOf(pipe, 'data').onMessage(() => undefined);
    send(handshake.start());
  });
}
