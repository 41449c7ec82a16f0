// A labelled form control with its error message tied to it for assistive technology.
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

export function Field(props: {
  label: string;
  error?: string | null;
  hint?: string | null;
  children: (attrs: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ComponentChildren;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const described = [props.hint ? hintId : null, props.error ? errorId : null]
    .filter(Boolean)
    .join(" ");
  return (
    <div class={props.error ? "field has-error" : "field"}>
      <label for={id}>{props.label}</label>
      {props.children({
        id,
        "aria-invalid": Boolean(props.error),
        "aria-describedby": described || undefined,
      })}
      {props.hint ? (
        <p class="field-hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={errorId}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** A required reason in a few words (why a prescription is rejected, a follow-up declined, a
 * patient referred): a labelled textarea. */
export function ReasonField(props: {
  label: string;
  hint?: string | null;
  testid: string;
  value: string;
  maxLength: number;
  onInput: (value: string) => void;
}) {
  return (
    <Field label={props.label} hint={props.hint}>
      {(attrs) => (
        <textarea
          {...attrs}
          rows={2}
          required
          maxLength={props.maxLength}
          data-testid={props.testid}
          value={props.value}
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}
