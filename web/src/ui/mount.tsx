// Starts a page: renders it into #app and renders it again when the language changes.
import { type ComponentType, render } from "preact";
import { onLocaleChange } from "../lib/i18n";

export function mount(Page: ComponentType): void {
  const root = document.getElementById("app");
  if (!root) return;
  const draw = () => render(<Page />, root);
  onLocaleChange(draw);
  draw();
}
