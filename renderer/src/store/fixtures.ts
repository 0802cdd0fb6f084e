// Sample engine data for the store's tests.
import type { StatusResult, ShareSummary } from '../../../shared/api.ts';
import { sampleConflict, samplePeer, sampleShare, sampleStatus } from '../../../shared/fixtures.ts';

export const share = sampleShare;
export const status = (shares: ShareSummary[], paused = false): StatusResult => sampleStatus(shares, { paused });
export const peer = samplePeer;
export const conflict = sampleConflict;
