// Builders for engine state in the app's unit tests.
import type { ShareSummary, StatusResult } from '../../shared/api.ts';
import { sampleShare, sampleStatus } from '../../shared/fixtures.ts';

export const share = (over: Partial<ShareSummary> = {}): ShareSummary => sampleShare({ id: 'share-1', path: '/home/ann/Photos', ...over });
export const status = (shares: ShareSummary[], over: Partial<StatusResult> = {}): StatusResult => sampleStatus(shares, over);
