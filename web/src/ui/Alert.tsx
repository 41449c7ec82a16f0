// Messages for people: errors are alerts (read out at once), the rest polite status.
import type { ComponentChildren } from "preact";

export function Alert(props: {
  kind?: "error" | "info" | "success" | "warning";
  children: ComponentChildren;
  testid?: string;
}) {
  const kind = props.kind ?? "error";
  return (
    <div
      class={`alert alert-${kind}`}
      role={kind === "error" ? "alert" : "status"}
      data-testid={props.testid}
    >
      {props.children}
    </div>
  );
}

export function Loading(props: { label: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {props.label}
    </p>
  );
}
