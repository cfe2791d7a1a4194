import { type FormEvent } from "react";
import { deleteTeam, listOf, saveTeam, teams } from "../../api";
import { useEditableList } from "../../useEditableList";

/** Teams: service scopes shared by their members. Saving a team replaces its scopes and members. */
export function Teams({ onChange }: { onChange: () => void }) {
  const { list, error, change } = useEditableList(teams, onChange);

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const team = {
      name: String(data.get("name")),
      scopes: listOf(String(data.get("scopes"))),
      members: listOf(String(data.get("members"))),
    };
    void change(async () => {
      await saveTeam(team);
      if (form.classList.contains("new-team")) form.reset();
    });
  }

  return (
    <section className="teams">
      <h2>Teams</h2>
      {error && <p className="error">{error}</p>}
      <form className="search new-team" onSubmit={save}>
        <input name="name" placeholder="team name" aria-label="new team's name" required />
        <input name="scopes" placeholder="services, e.g. checkout-*" aria-label="new team's services" />
        <input name="members" placeholder="members, e.g. ana, bo" aria-label="new team's members" />
        <button type="submit">Create team</button>
      </form>
      {list?.map((team) => (
        // The key changes with the content, so that a reload shows the saved values in the inputs.
        <form key={JSON.stringify(team)} className="search team" data-team={team.name} onSubmit={save}>
          <input type="hidden" name="name" value={team.name} />
          <strong>{team.name}</strong>
          <input name="scopes" defaultValue={team.scopes.join(", ")} aria-label={`services of team ${team.name}`} />
          <input name="members" defaultValue={team.members.join(", ")} aria-label={`members of team ${team.name}`} />
          <button type="submit">Save</button>
          <button
            type="button"
            onClick={() => window.confirm(`Delete team ${team.name}?`) && void change(() => deleteTeam(team.name))}
          >
            Delete
          </button>
        </form>
      ))}
    </section>
  );
}
