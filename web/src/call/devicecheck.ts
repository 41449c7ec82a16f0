// "The doctor checked their devices in this browser session": set when they pass the device
// check (the lobby), read when they let a patient in from the console, so "Let in" goes
// straight into the call instead of making the patient wait through a second check.
const KEY = "telemed.devices_checked";

export function markDevicesChecked(): void {
  try {
    sessionStorage.setItem(KEY, "1");
  } catch {
    // storage refused: the device check is shown again next time, nothing worse
  }
}

export function devicesChecked(): boolean {
  try {
    return sessionStorage.getItem(KEY) === "1";
  } catch {
    return false;
  }
}
