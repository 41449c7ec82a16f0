// Amounts of money as people read them: the API counts minor units (fen for CNY).
import { locale } from "./i18n";
import type { Money } from "./types";

export function formatMoney(money: Money): string {
  return new Intl.NumberFormat(locale(), { style: "currency", currency: money.currency }).format(
    money.amount / 100,
  );
}
