// The doctor's "End consultation": apart from "Leave" (at the far end of the controls, in
// red), and asked once more before it ends the visit for both people (`end` opens the
// question, `end-confirm` ends, `end-confirm-cancel` or Escape keeps the call).
import { useState } from "preact/hooks";
import { t } from "../lib/i18n";
import { ConfirmDialog } from "../ui/ConfirmDialog";

export function EndConsultation(props: { busy: boolean; onEnd: () => void }) {
  const [asking, setAsking] = useState(false);
  return (
    <>
      <button
        type="button"
        class="control control-danger control-end"
        data-testid="end"
        aria-haspopup="dialog"
        disabled={props.busy}
        onClick={() => setAsking(true)}
      >
        {t("call.end")}
      </button>
      <ConfirmDialog
        open={asking}
        title={t("call.end_confirm_title")}
        confirmLabel={t("call.end_confirm")}
        cancelLabel={t("call.end_keep")}
        testid="end-confirm"
        busy={props.busy}
        onCancel={() => setAsking(false)}
        onConfirm={() => {
          setAsking(false);
          props.onEnd();
        }}
      >
        <p>{t("call.end_confirm_text")}</p>
      </ConfirmDialog>
    </>
  );
}
