// My health: the summaries of the patient's visits, newest first, current as the doctor writes.
import { useMemo } from "preact/hooks";
import { t } from "../lib/i18n";
import type { Hub } from "../lib/socket";
import type { VisitSummary } from "../lib/types";
import { SummaryList, type SummarySubscribe } from "./VisitSummary";

export function HealthSummaries(props: { patientId: string; hub: Hub | null }) {
  const { hub } = props;
  const subscribe = useMemo<SummarySubscribe | undefined>(() => {
    if (!hub) return undefined;
    return (listener) => {
      const handler = (visit: VisitSummary) => listener(visit);
      hub.socket.on("summary:updated", handler);
      return () => {
        hub.socket.off("summary:updated", handler);
      };
    };
  }, [hub]);
  return (
    <section class="card section" aria-labelledby="summaries-title" data-testid="health-summaries">
      <h2 id="summaries-title">{t("health.summaries")}</h2>
      <SummaryList patientId={props.patientId} subscribe={subscribe} />
    </section>
  );
}
