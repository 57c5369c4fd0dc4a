// The drawdown's view of each hour's closed trades (`trades_pnl_1h`, declared with the other views
// in views.ts): its name, stride and fingerprint columns as the drawdown reads them
// (analytics/drawdown-periods.ts); the raw fallback (while the view lags) reads the same measures
// from the table.
import { PNL_MEASURES, VIEW_GRAIN_US, VIEW_STRIDE, viewNames } from "./views.ts";

/** The view's period: SAMPLE BY stride and its length in µs. */
export const PNL_VIEW_STRIDE = VIEW_STRIDE;
export const PNL_VIEW_PERIOD_US = VIEW_GRAIN_US;

export const pnlViewName = (prefix: string): string => viewNames(prefix).pnl;

/** Fingerprint columns of an hour's closed trades, over `trades` rows (the view and the fallback read). */
export const PNL_FINGERPRINT = PNL_MEASURES.map((measure) => `${measure.sql} ${measure.alias}`).join(", ");
