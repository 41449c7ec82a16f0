// The admin page's view of the audit hash chain (GET /admin/audit/chain): how long it is, its
// latest entry and hash, and the outcome of the last check. Walking a long chain on every page
// load would be too slow, so the page shows the last check and offers to check the entries
// appended since (POST /admin/audit/chain/verify); the whole chain is `telemed audit verify`.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, formatNumber, t } from "../lib/i18n";
import type { AuditChainState } from "../lib/types";
import { Alert, Loading } from "./Alert";

function faultText(fault: string): string {
  switch (fault) {
    case "changed":
      return t("audit_chain.fault_changed");
    case "removed":
      return t("audit_chain.fault_removed");
    case "inserted":
      return t("audit_chain.fault_inserted");
    case "replaced":
      return t("audit_chain.fault_replaced");
    default:
      return t("audit_chain.fault_head");
  }
}

function statusText(state: AuditChainState): string {
  if (state.status === "ok") return t("audit_chain.status_ok", { seq: state.verified_seq ?? 0 });
  if (state.status === "broken") return t("audit_chain.status_broken");
  return t("audit_chain.status_unverified");
}

export function AuditChain() {
  const [state, setState] = useState<AuditChainState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.auditChain().then(setState, (caught) => setError(messageFor(caught)));
  }, []);
  const verify = async () => {
    setBusy(true);
    setError(null);
    try {
      setState(await api.verifyAuditChain());
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(false);
    }
  };
  const unchecked = state && state.verified_seq !== null ? Math.max(state.length - state.verified_seq, 0) : null;
  return (
    <section class="card section" aria-labelledby="audit-chain-title" data-testid="audit-chain">
      <h2 id="audit-chain-title">{t("audit_chain.title")}</h2>
      <p class="muted">{t("audit_chain.intro")}</p>
      {error ? <Alert>{error}</Alert> : null}
      {state === null && !error ? <Loading label={t("common.loading")} /> : null}
      {state ? (
        <>
          <p
            class={`badge badge-chain-${state.status}`}
            role="status"
            data-testid="audit-chain-status"
            data-status={state.status}
          >
            {statusText(state)}
          </p>
          {state.problem ? (
            <Alert testid="audit-chain-problem">
              {state.problem.seq !== null
                ? t("audit_chain.problem", { seq: state.problem.seq, fault: faultText(state.problem.fault) })
                : t("audit_chain.problem_outside", { fault: faultText(state.problem.fault) })}
            </Alert>
          ) : null}
          <dl class="stats">
            <div class="stat">
              <dt>{t("audit_chain.length")}</dt>
              <dd data-testid="audit-chain-length">{formatNumber(state.length)}</dd>
            </div>
            <div class="stat">
              <dt>{t("audit_chain.head")}</dt>
              <dd>
                {state.head
                  ? t("audit_chain.head_value", { seq: state.head.seq, time: formatDateTime(state.head.at ?? "") })
                  : "—"}
              </dd>
            </div>
            <div class="stat">
              <dt>{t("audit_chain.verified_at")}</dt>
              <dd>
                {state.verified_at ? formatDateTime(state.verified_at) : t("audit_chain.never")}
                {unchecked ? <span class="muted cell-sub">{t("audit_chain.unchecked", { count: unchecked })}</span> : null}
              </dd>
            </div>
          </dl>
          {state.head ? (
            <p class="mono chain-hash" title={t("audit_chain.hash")}>
              <span class="sr-only">{t("audit_chain.hash")}</span>
              <span data-testid="audit-chain-head">{state.head.hash}</span>
            </p>
          ) : null}
          <button type="button" data-testid="audit-verify" disabled={busy} onClick={verify}>
            {busy ? t("audit_chain.verifying") : t("audit_chain.verify")}
          </button>
        </>
      ) : null}
    </section>
  );
}
