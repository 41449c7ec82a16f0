// Documents in the call: an attachment inline in the chat (a thumbnail for images and DICOM, a
// chip for a PDF), and the viewer it opens. DICOM gets frame and window/level controls (the
// server renders each frame as a PNG with the window asked for). A PDF is opened in a new tab
// from an object URL of its bytes, never embedded: the page's CSP allows no frames, and the
// browser's own PDF viewer in its own tab is the sandbox.
import { useEffect, useState } from "preact/hooks";
import { documentBlob, getDocument, patientDocuments } from "../lib/api";
import { t } from "../lib/i18n";
import type { ChatAttachment, PatientDocument } from "../lib/types";

const PREVIEWABLE = new Set(["image/jpeg", "image/png", "image/webp", "application/dicom"]);

function useObjectUrl(load: (() => Promise<Blob>) | null, deps: unknown[]): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!load) return;
    let current: string | null = null;
    let live = true;
    load()
      .then((blob) => {
        if (!live) return;
        current = URL.createObjectURL(blob);
        setUrl(current);
      })
      .catch(() => setUrl(null));
    return () => {
      live = false;
      if (current) URL.revokeObjectURL(current);
    };
  }, deps);
  return url;
}

export async function openInNewTab(id: string): Promise<void> {
  const tab = window.open("", "_blank", "noopener");
  const url = URL.createObjectURL(await documentBlob(id, "content"));
  if (tab) tab.location.href = url;
  else window.location.assign(url);
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function AttachmentView(props: { attachment: ChatAttachment; onOpen: (id: string) => void }) {
  const a = props.attachment;
  const previewable = PREVIEWABLE.has(a.content_type);
  const thumb = useObjectUrl(previewable ? () => documentBlob(a.document_id, "preview.png") : null, [a.document_id]);
  return (
    <button
      type="button"
      class="attachment"
      data-testid="chat-attachment"
      data-content-type={a.content_type}
      onClick={() => (previewable ? props.onOpen(a.document_id) : void openInNewTab(a.document_id))}
    >
      {previewable && thumb ? <img class="attachment-thumb" src={thumb} alt={a.title} /> : null}
      <span class="attachment-title">
        {a.content_type === "application/pdf" ? "PDF · " : a.content_type === "application/dicom" ? "DICOM · " : ""}
        {a.title}
      </span>
    </button>
  );
}

export function DocumentViewer(props: { documentId: string; onClose: () => void }) {
  const [doc, setDoc] = useState<PatientDocument | null>(null);
  const [frame, setFrame] = useState(0);
  const [win, setWin] = useState<{ window: number; level: number } | null>(null);
  // What is being typed in the window and level boxes, until it is committed (Enter or
  // leaving the box): kept here, or a re-render while typing (an image arriving, a chat
  // message) would put the committed value back and lose the keystrokes.
  const [draft, setDraft] = useState<{ window?: string; level?: string }>({});
  useEffect(() => {
    void getDocument(props.documentId).then(setDoc);
  }, [props.documentId]);
  const query = win ? { frame, window: win.window, level: win.level } : { frame };
  // A PDF has no preview (the server answers 422): it opens in a new tab.
  const previewable = doc !== null && PREVIEWABLE.has(doc.content_type);
  const image = useObjectUrl(previewable ? () => documentBlob(props.documentId, "preview.png", query) : null, [
    doc?.id,
    frame,
    win?.window,
    win?.level,
  ]);
  const frames = doc?.dicom?.frames ?? 1;
  return (
    <section class="document-viewer" data-testid="document-viewer" aria-label={doc?.title ?? t("documents.viewer")}>
      <header class="document-viewer-head">
        <h3>{doc?.title ?? ""}</h3>
        <button type="button" class="button-link" onClick={props.onClose} data-testid="document-close">
          {t("documents.close")}
        </button>
      </header>
      {doc?.dicom ? (
        <p class="muted" data-testid="dicom-info">
          {[doc.dicom.modality, doc.dicom.study_date, `${doc.dicom.columns ?? "?"} × ${doc.dicom.rows ?? "?"}`]
            .filter(Boolean)
            .join(" · ")}
        </p>
      ) : null}
      {image ? <img class="document-image" src={image} alt={doc?.title ?? ""} data-testid="document-image" /> : null}
      {doc?.dicom ? (
        <form class="dicom-controls" onSubmit={(e) => e.preventDefault()}>
          {frames > 1 ? (
            <label>
              {t("documents.frame", { frame: frame + 1, frames })}
              <input
                type="range"
                min={0}
                max={frames - 1}
                value={frame}
                data-testid="dicom-frame"
                onInput={(e) => setFrame(Number(e.currentTarget.value))}
              />
            </label>
          ) : null}
          <label>
            {t("documents.window")}
            <input
              type="number"
              min={1}
              step={1}
              value={draft.window ?? win?.window ?? ""}
              data-testid="dicom-window"
              onInput={(e) => setDraft({ ...draft, window: e.currentTarget.value })}
              onChange={(e) => {
                setWin({ window: Math.max(1, Number(e.currentTarget.value) || 1), level: win?.level ?? 40 });
                setDraft({ ...draft, window: undefined });
              }}
            />
          </label>
          <label>
            {t("documents.level")}
            <input
              type="number"
              step={1}
              value={draft.level ?? win?.level ?? ""}
              data-testid="dicom-level"
              onInput={(e) => setDraft({ ...draft, level: e.currentTarget.value })}
              onChange={(e) => {
                setWin({ window: win?.window ?? 400, level: Number(e.currentTarget.value) || 0 });
                setDraft({ ...draft, level: undefined });
              }}
            />
          </label>
          <button type="button" class="button-link" onClick={() => {
              setWin(null);
              setDraft({});
            }}>
            {t("documents.reset_window")}
          </button>
        </form>
      ) : null}
      <button type="button" class="button-link" onClick={() => void openInNewTab(props.documentId)}>
        {t("documents.download")}
      </button>
    </section>
  );
}

/** The patient's documents, each shareable in the chat and viewable (side panel of the call). */
export function DocumentsPanel(props: {
  patientId: string;
  disabled: boolean;
  onShare: (id: string) => void;
  onOpen: (id: string) => void;
}) {
  const [docs, setDocs] = useState<PatientDocument[] | null>(null);
  useEffect(() => {
    patientDocuments(props.patientId).then(setDocs, () => setDocs([]));
  }, [props.patientId]);
  return (
    <section class="documents" aria-labelledby="documents-title" data-testid="documents-panel">
      <h2 id="documents-title" class="panel-title">
        {t("documents.title")}
      </h2>
      {docs && docs.length === 0 ? <p class="muted">{t("documents.none")}</p> : null}
      <ul class="documents-list">
        {(docs ?? []).map((d) => (
          <li key={d.id} data-testid="document-item">
            <span>{d.title}</span>
            <button type="button" class="button-link" onClick={() => props.onOpen(d.id)} data-testid="document-open">
              {t("documents.open")}
            </button>
            <button
              type="button"
              class="button-link"
              disabled={props.disabled}
              onClick={() => props.onShare(d.id)}
              data-testid="document-share"
            >
              {t("documents.share")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
