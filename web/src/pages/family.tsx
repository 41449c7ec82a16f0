// "/family": the people the account manages (就诊人): add and edit them, and open each one's
// health record. Each is a patient in their own right; the account books and joins for them.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { formatDate, t } from "../lib/i18n";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { FamilyMember, Relation, Sex, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { Field } from "../ui/Field";
import { useLoad, useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

const RELATIONS: Relation[] = ["child", "parent", "spouse", "other"];
const SEXES: Sex[] = ["female", "male", "other", "unknown"];

function FamilyPage() {
  const [user, setUser] = useState<User | null>(null);
  // Only for the clinic's notifications about the account's and its family's appointments.
  const [hub, setHub] = useState<Hub | null>(null);
  useTitle("family.title");
  useEffect(() => {
    requireUser(["patient"]).then((u) => {
      setUser(u);
      setHub(connectHub());
    }, () => undefined);
  }, []);
  if (!user) {
    return (
      <Shell user={null}>
        <Loading label={t("common.loading")} />
      </Shell>
    );
  }
  return (
    <Shell user={user} hub={hub}>
      <FamilyHome />
    </Shell>
  );
}

function FamilyHome() {
  const [list, reload] = useLoad(() => api.familyMembers(), []);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <>
      <h1>{t("family.title")}</h1>
      <p class="muted">{t("family.explain")}</p>
      {notice ? (
        <Alert kind="success" testid="family-notice">
          {notice}
        </Alert>
      ) : null}
      <div class="columns">
        <div class="column-main">
          <section class="section" aria-labelledby="members-title">
            <h2 id="members-title">{t("family.members")}</h2>
            {list.state === "loading" ? <Loading label={t("common.loading")} /> : null}
            {list.state === "error" ? <Alert>{messageFor(list.error)}</Alert> : null}
            {list.state === "ready" && list.value.length === 0 ? <p class="empty">{t("family.none")}</p> : null}
            {list.state === "ready" && list.value.length ? (
              <ul class="card-list" data-testid="family-list">
                {list.value.map((m) =>
                  editing === m.id ? (
                    <li key={m.id} class="card">
                      <MemberForm
                        member={m}
                        onSaved={(saved) => {
                          setEditing(null);
                          setNotice(t("family.saved", { name: saved.name }));
                          reload();
                        }}
                        onCancel={() => setEditing(null)}
                      />
                    </li>
                  ) : (
                    <MemberCard key={m.id} member={m} onEdit={() => setEditing(m.id)} />
                  ),
                )}
              </ul>
            ) : null}
          </section>
        </div>
        <div class="column-side">
          <section class="card section" aria-labelledby="add-title">
            <h2 id="add-title">{t("family.add")}</h2>
            <MemberForm
              onSaved={(saved) => {
                setNotice(t("family.added", { name: saved.name }));
                reload();
              }}
            />
          </section>
        </div>
      </div>
    </>
  );
}

function MemberCard(props: { member: FamilyMember; onEdit: () => void }) {
  const m = props.member;
  return (
    <li class="card family-member" data-testid="family-member" data-member-id={m.id}>
      <p class="appointment-who">{m.name}</p>
      <p class="muted">
        {m.relation ? t(`family.relation.${m.relation}`) : ""}
        {m.age !== null ? ` · ${t("family.age", { age: m.age })}` : ""}
        {m.birth_date ? ` · ${formatDate(`${m.birth_date}T12:00:00`)}` : ""}
        {m.sex ? ` · ${t(`family.sex.${m.sex}`)}` : ""}
      </p>
      {m.under_six ? (
        <p class="under-six-note" data-testid="under-six">
          {t("family.under_six")}
        </p>
      ) : null}
      <div class="button-row">
        <a class="button button-secondary" href={`/health?patient=${encodeURIComponent(m.id)}`}>
          {t("family.record", { name: m.name })}
        </a>
        <a class="button button-secondary" href={`/patient`}>
          {t("family.book")}
        </a>
        <button type="button" class="button-quiet" data-testid="edit-member" onClick={props.onEdit}>
          {t("family.edit")}
          <span class="sr-only"> {m.name}</span>
        </button>
      </div>
      {!m.minor && m.birth_date ? <Invite member={m} /> : null}
    </li>
  );
}

/** A managed adult gets their own sign-in: the holder asks for a link and passes it on; once
 * the person sets their password, this account no longer manages them. */
function Invite(props: { member: FamilyMember }) {
  const [email, setEmail] = useState("");
  const [link, setLink] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setLink((await api.inviteFamilyMember(props.member.id, email.trim())).url);
    } catch (caught) {
      setError(caught);
    }
    setBusy(false);
  }
  return (
    <details class="invite">
      <summary>{t("family.invite", { name: props.member.name })}</summary>
      <p class="muted">{t("family.invite_explain")}</p>
      {link ? (
        <Alert kind="success" testid="invite-link">
          {t("family.invite_link")} <a href={link}>{link}</a>
        </Alert>
      ) : (
        <form class="form" onSubmit={submit}>
          {error ? <Alert>{messageFor(error)}</Alert> : null}
          <Field label={t("family.invite_email")} error={fieldMessage(error, "email")}>
            {(attrs) => (
              <input
                {...attrs}
                type="email"
                required
                autocomplete="off"
                data-testid="invite-email"
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="button-secondary" data-testid="invite-send" disabled={busy}>
            {t("family.invite_send")}
          </button>
        </form>
      )}
    </details>
  );
}

function MemberForm(props: {
  member?: FamilyMember;
  onSaved: (member: FamilyMember) => void;
  onCancel?: () => void;
}) {
  const m = props.member;
  const [name, setName] = useState(m?.name ?? "");
  const [birth, setBirth] = useState(m?.birth_date ?? "");
  const [sex, setSex] = useState<Sex>(m?.sex ?? "female");
  const [relation, setRelation] = useState<Relation>(m?.relation ?? "child");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const today = new Date().toISOString().slice(0, 10);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const input = { name: name.trim(), birth_date: birth, sex, relation };
    try {
      const saved = m ? await api.updateFamilyMember(m.id, input) : await api.addFamilyMember(input);
      setBusy(false);
      if (!m) {
        setName("");
        setBirth("");
      }
      props.onSaved(saved);
    } catch (caught) {
      setBusy(false);
      setError(caught);
    }
  }

  const general =
    error && !fieldMessage(error, "name") && !fieldMessage(error, "birth_date") && !fieldMessage(error, "relation")
      ? messageFor(error)
      : null;
  return (
    <form class="form" onSubmit={submit} data-testid={m ? "member-edit-form" : "member-add-form"}>
      {general ? <Alert testid="member-error">{general}</Alert> : null}
      <Field label={t("family.name")} error={fieldMessage(error, "name")}>
        {(attrs) => (
          <input
            {...attrs}
            required
            maxLength={100}
            autocomplete="off"
            data-testid="member-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("family.birth_date")} error={fieldMessage(error, "birth_date")}>
        {(attrs) => (
          <input
            {...attrs}
            type="date"
            required
            min="1900-01-01"
            max={today}
            data-testid="member-birth-date"
            value={birth}
            onInput={(e) => setBirth(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("family.sex_label")}>
        {(attrs) => (
          <select {...attrs} data-testid="member-sex" value={sex} onChange={(e) => setSex(e.currentTarget.value as Sex)}>
            {SEXES.map((s) => (
              <option key={s} value={s}>
                {t(`family.sex.${s}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("family.relation_label")} error={fieldMessage(error, "relation")}>
        {(attrs) => (
          <select
            {...attrs}
            data-testid="member-relation"
            value={relation}
            onChange={(e) => setRelation(e.currentTarget.value as Relation)}
          >
            {RELATIONS.map((r) => (
              <option key={r} value={r}>
                {t(`family.relation.${r}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div class="button-row">
        <button type="submit" class="button-primary" data-testid="member-save" disabled={busy}>
          {busy ? t("common.saving") : m ? t("family.save") : t("family.add_button")}
        </button>
        {props.onCancel ? (
          <button type="button" class="button-quiet" onClick={props.onCancel}>
            {t("family.cancel")}
          </button>
        ) : null}
      </div>
    </form>
  );
}

mount(FamilyPage);
