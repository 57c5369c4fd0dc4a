// MevMetric with its mutations (recordMevMetric, recordMevMetrics).
import {
  encodeMev,
  MEV_OUTCOMES,
  MEV_PROTECTIONS,
  type MevInput,
  type MevMetric,
  validateMev,
} from "../ingest/mev-record.ts";
import { builder } from "./builder.ts";
import { DurabilityEnum, RecordResultRef, type RecordSpec, recordRows } from "./record.ts";
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
    metricId: t.exposeString("metricId", { description: "Idempotency key." }),
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
  }),
});

const MevMetricInputRef = builder.inputType("MevMetricInput", {
  fields: (t) => ({
    metricId: t.string({ description: "Idempotency key. Defaults to tradeId when given, else a server-made UUID." }),
    timestamp: t.field({ type: "Timestamp", description: "Defaults to acceptance time." }),
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
  }),
});

const mevSpec = (list: boolean): RecordSpec<MevInput, MevMetric> => ({
  argument: list ? "inputs" : "input",
  list,
  validate: validateMev,
  toQueued: (metric, tables) => ({
    table: tables.mev_metrics,
    record: metric,
    encode: (buffer) => encodeMev(buffer, tables.mev_metrics, metric),
  }),
  id: (metric) => metric.metricId,
});
const ONE = mevSpec(false);
const MANY = mevSpec(true);

builder.mutationFields((t) => ({
  recordMevMetric: t.field({
    type: RecordResultRef,
    args: {
      input: t.arg({ type: MevMetricInputRef, required: true }),
      durability: t.arg({ type: DurabilityEnum, required: true, defaultValue: "QUEUED" }),
    },
    resolve: (_root, args, context) => recordRows(context, ONE, [args.input], args.durability),
  }),
  recordMevMetrics: t.field({
    type: RecordResultRef,
    description: "Records many MEV results: all or, if any is invalid, none.",
    args: {
      inputs: t.arg({ type: [MevMetricInputRef], required: true }),
      durability: t.arg({ type: DurabilityEnum, required: true, defaultValue: "QUEUED" }),
    },
    resolve: (_root, args, context) => recordRows(context, MANY, args.inputs, args.durability),
  }),
}));
