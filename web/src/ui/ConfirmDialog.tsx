// A question before an act that cannot be undone (ending a consultation, closing a room): a
// modal <dialog> (the browser keeps focus inside it and the page behind inert), focus first
// on the safe answer, Escape or "Cancel" closes it with nothing done.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  cancelLabel: string;
  /** The confirm button's ``data-testid``; the dialog is ``<testid>-dialog``. */
  testid: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
      cancelRef.current?.focus();
      const restore = () => before?.isConnected && before.focus();
      dialog.addEventListener("close", restore, { once: true });
    } else if (!props.open && dialog.open) {
      dialog.close();
    }
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="confirm-dialog"
      aria-labelledby={titleId}
      aria-describedby={props.children ? bodyId : undefined}
      data-testid={`${props.testid}-dialog`}
      onKeyDown={(e) => {
        // Tab cycles within the question (the browser alone would let it leave the page).
        if (e.key !== "Tab") return;
        const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>("button:not([disabled])") ?? [])];
        const first = buttons[0];
        const last = buttons[buttons.length - 1];
        if (!first || !last) return;
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }}
      onCancel={(e) => {
        e.preventDefault(); // Escape: we close it, so that the state follows
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children ? <div id={bodyId}>{props.children}</div> : null}
      <div class="button-row">
        <button ref={cancelRef} type="button" class="button-secondary" data-testid={`${props.testid}-cancel`} onClick={props.onCancel}>
          {props.cancelLabel}
        </button>
        <button type="button" class="button-danger" data-testid={props.testid} disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
