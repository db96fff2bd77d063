import type { RequestView } from './request-view';

/** The first `limit` matches as views, and how many matched in all (for "and N more"). */
export interface Page {
  items: RequestView[];
  total: number;
}

/** What one user's App Home shows. `allActive` is for admins only. */
export interface HomeContent {
  userId: string;
  isAdmin: boolean;
  myAccess: Page;
  myPending: Page;
  toApprove: Page;
  recent: RequestView[];
  allActive: Page | null;
  /** Emergency grants not reviewed yet, for their reviewers and the admins (never the requester's own). */
  toReview: Page;
}

export interface HomeLimits {
  myAccess: number;
  myPending: number;
  toApprove: number;
  recent: number;
  allActive: number;
  toReview: number;
}
