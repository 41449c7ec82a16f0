// The app's own types held to the server's contracts. The types in ./generated are written from
// the server's OpenAPI and AsyncAPI documents (scripts/gen-types.sh; the test command writes them
// before tsc). Each line below says: what the server sends is assignable to the type the app
// reads it as (and what the app sends, to what the server takes). When the server stops sending
// a field the app reads, or changes its type, tsc fails here. Types only: nothing here is bundled.
import type { RunningLateEvent } from "../ui/RunningLate";
import type { HubContract } from "./generated/hub";
import type { NotificationPush } from "./notices";
import type {
  ChatMessage,
  JoinAck,
  RecordingOffer,
  RecordingState,
  ReminderDue,
  RoomSummary,
  Role,
  RoomView,
  ScreenState,
  TextUpdate,
  VisitSummary,
} from "./types";

type Holds<T extends true> = T;
type Fits<A, B> = [A] extends [B] ? true : false;
type From = HubContract["fromHub"];
type Acks = HubContract["acks"];

export type HubChecks = [
  Holds<Fits<From["consult:state"], RoomView>>,
  Holds<Fits<From["consult:admitted"], { room: RoomView }>>,
  Holds<Fits<From["consult:ended"], { appointment_id: string; reason: string }>>,
  Holds<Fits<From["consult:closed"], { appointment_id: string; reason: string }>>,
  Holds<Fits<From["consult:seat_lost"], { appointment_id: string }>>,
  Holds<Fits<From["consult:removed"], { appointment_id: string; rev?: number }>>,
  Holds<Fits<From["consult:running_late"], RunningLateEvent>>,
  Holds<Fits<From["rtc:signal"], { appointment_id: string }>>,
  Holds<Fits<From["chat:message"], ChatMessage>>,
  Holds<Fits<From["chat:typing"], { appointment_id: string; from: string; typing: boolean }>>,
  Holds<Fits<From["recording:state"], RecordingState>>,
  Holds<Fits<From["recording:offer"], RecordingOffer>>,
  Holds<Fits<From["recording:declined"], { appointment_id: string }>>,
  Holds<Fits<From["reminder:due"], ReminderDue>>,
  Holds<Fits<From["summary:updated"], VisitSummary>>,
  Holds<Fits<From["admin rooms:snapshot"], { rooms: RoomSummary[] }>>,
  Holds<Fits<From["admin rooms:update"], RoomSummary>>,
  Holds<Fits<From["admin rooms:removed"], { appointment_id: string; rev?: number }>>,
  Holds<Fits<From["screen:state"], ScreenState>>,
  Holds<Fits<From["admin rooms:screen"], { appointment_id: string; sharer_role: Role | null; rev: number }>>,
  Holds<Fits<From["text:updated"], TextUpdate>>,
  Holds<Fits<From["notification"], NotificationPush>>,
  Holds<Fits<Acks["consult:join"], JoinAck>>,
];
