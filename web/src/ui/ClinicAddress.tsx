// Where an in-person appointment takes place: the clinic's address (GET /clinic) in the page's
// language, or in the other one when the clinic gave only that; nothing when none is set.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { locale, t } from "../lib/i18n";
import type { ClinicInfo } from "../lib/types";

export function ClinicAddress() {
  const [info, setInfo] = useState<ClinicInfo | null>(null);
  useEffect(() => {
    let live = true;
    api.clinic().then(
      (value) => live && setInfo(value),
      () => undefined, // no address shown; the appointment itself is unaffected
    );
    return () => {
      live = false;
    };
  }, []);
  if (!info) return null;
  const [first, second] = locale() === "zh-CN" ? [info.address_zh, info.address_en] : [info.address_en, info.address_zh];
  const address = first ?? second;
  if (!address) return null;
  return (
    <p class="clinic-address" data-testid="clinic-address">
      <span class="muted">{t("clinic.address")} </span>
      <span>{address}</span>
    </p>
  );
}
