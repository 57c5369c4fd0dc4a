// MevMetric with its mutations (recordMevMetric, recordMevMetrics).
import { COMPUTE_UNITS, MEV_RECORDS, type MevInput } from "../ingest/mev-record.ts";
import { MEV_OUTCOMES, MEV_PROTECTIONS, type MevMetric } from "../questdb/mev-table.ts";
import { builder } from "./builder.ts";
import { defineRecordMutations, WRITER_DESCRIPTION } from "./record.ts";
import "./scalars.ts";

export const MevProtectionEnum = builder.enumType("MevProtection", {
  description: "How the transaction was protected: a Jito bundle, a private RPC, nothing, or something else.",
  values: MEV_PROTECTIONS,
});
export const MevOutcomeEnum = builder.enumType("MevOutcome", {
  description:
    "What happened: LANDED unharmed, FAILED, DROPPED (never landed), or attacked (SANDWICHED, FRONT_RUN, BACK_RUN).",
  values: MEV_OUTCOMES,
});

export const MevMetricRef = builder.objectRef<MevMetric>("MevMetric").implement({
  description: "The MEV-protection result of one transaction.",
  fields: (t) => ({
    timestamp: t.field({ type: "Timestamp", resolve: (r) => r.timestamp }),
    metricId: t.exposeString("metricId", { description: "Idempotency key (per writer)." }),
    tradeId: t.exposeString("tradeId", { nullable: true }),
    protection: t.field({ type: MevProtectionEnum, resolve: (r) => r.protection }),
    outcome: t.field({ type: MevOutcomeEnum, resolve: (r) => r.outcome }),
    tipLamports: t.field({ type: "Long", resolve: (r) => r.tipLamports }),
    expectedProfit: t.exposeFloat("expectedProfit", {
      nullable: true,
      description: "For the bot's own opportunities: profit expected when sent, in quote units.",
    }),
    realizedProfit: t.exposeFloat("realizedProfit", {
      nullable: true,
      description: "Profit realized, in quote units.",
    }),
    lossAvoided: t.exposeFloat("lossAvoided", {
      nullable: true,
      description: "Estimated loss avoided, in quote units.",
    }),
    attackDetected: t.exposeBoolean("attackDetected"),
    slotsToLand: t.exposeInt("slotsToLand", { nullable: true }),
    strategy: t.exposeString("strategy", { nullable: true }),
    venue: t.exposeString("venue", { nullable: true }),
    baseToken: t.exposeString("baseToken", { nullable: true }),
    quoteToken: t.exposeString("quoteToken", {
      nullable: true,
      description: "The currency of expectedProfit, realizedProfit and lossAvoided; null when the bot did not send it.",
    }),
    tipFloorLamports: t.field({ type: "Long", nullable: true, resolve: (r) => r.tipFloorLamports }),
    computeUnits: t.exposeInt("computeUnits", { nullable: true }),
    writer: t.exposeString("writer", {
      nullable: true,
      description: WRITER_DESCRIPTION,
    }),
  }),
});

const MevMetricInputRef = builder.inputType("MevMetricInput", {
  fields: (t) => ({
    metricId: t.string({ description: "Idempotency key. Defaults to tradeId when given, else a server-made UUID." }),
    timestamp: t.field({
      type: "Timestamp",
      description:
        "Required with metricId or tradeId (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to acceptance time.",
    }),
    tradeId: t.string({ description: "Links the result to a trade's tradeId." }),
    protection: t.field({ type: MevProtectionEnum, required: true }),
    outcome: t.field({ type: MevOutcomeEnum, required: true }),
    tipLamports: t.field({ type: "Long", required: true, description: "Tip paid (e.g. Jito), lamports." }),
    expectedProfit: t.float(),
    realizedProfit: t.float(),
    lossAvoided: t.float({ description: "Not negative." }),
    attackDetected: t.boolean({ description: "Default false." }),
    slotsToLand: t.int({ description: "Slots from submission to landing, 0 to 1,000,000." }),
    strategy: t.string(),
    // Issue 16: recorded on the MEV row itself, not looked up from the linked trade (the two
    // arrive separately and either may come first; a figure must not change when the trade
    // arrives, nor need a join for every money figure). docs/queries.md#mev-input-fields
    venue: t.string({ description: "Where the transaction was routed (as on its trade), a name." }),
    baseToken: t.string({ description: "The traded pair's base token, a name." }),
    quoteToken: t.string({
      description:
        "The traded pair's quote token, a name: the currency of expectedProfit, realizedProfit and lossAvoided. Without it those amounts are reported under an unknown currency (token null).",
    }),
    tipFloorLamports: t.field({
      type: "Long",
      description:
        "The tip floor the bot saw when it sent the bundle (e.g. Jito's landed-tip percentile), lamports, 0 to 2^53−1.",
    }),
    computeUnits: t.int({
      description: `The compute-unit limit the transaction requested (its priority fee is charged on it), a whole number from ${COMPUTE_UNITS.min} to ${COMPUTE_UNITS.max}.`,
    }),
  }),
});

defineRecordMutations<MevInput, MevMetric>({
  one: "recordMevMetric",
  many: "recordMevMetrics",
  what: "MEV results",
  input: MevMetricInputRef,
  kind: MEV_RECORDS,
});
