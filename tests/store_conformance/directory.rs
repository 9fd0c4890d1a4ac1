//! DirectoryPort: people, teams, companies, contacts.

use super::*;

/// Users, teams, companies and contacts; no read crosses accounts.
pub async fn people_teams_and_companies(store: &dyn Store) {
    let account = store.create_account("People").await.expect("account");
    let other = store.create_account("Other").await.expect("account");
    let agent = store.create_user(new_user(account.id, "Agent@People.example", Role::Agent)).await.expect("agent");
    assert_eq!(agent.email, "agent@people.example");
    assert!(matches!(
        store.create_user(new_user(account.id, "agent@people.example", Role::Agent)).await,
        Err(StoreError::Conflict(_))
    ));
    let credentials = store.user_credentials("AGENT@people.example").await.expect("lookup").expect("found");
    assert_eq!((credentials.user.id, credentials.password_hash.as_deref()), (agent.id, Some("hash")));
    assert!(store.user(other.id, agent.id).await.expect("read").is_none(), "no query crosses accounts");

    let team = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Support".into(),
            description: String::new(),
            member_ids: vec![agent.id],
        })
        .await
        .expect("team");
    assert_eq!(team.member_ids, vec![agent.id]);
    assert_eq!(store.user(account.id, agent.id).await.expect("read").expect("agent").team_ids, vec![team.id]);
    let foreign = store.create_user(new_user(other.id, "x@other.example", Role::Agent)).await.expect("user");
    assert!(
        store
            .update_team(account.id, team.id, TeamPatch { member_ids: Some(vec![foreign.id]), ..TeamPatch::default() })
            .await
            .is_err(),
        "members must belong to the team's account"
    );
    let renamed = store
        .update_team(
            account.id,
            team.id,
            TeamPatch { name: Some("Tier 1".into()), member_ids: Some(vec![]), ..TeamPatch::default() },
        )
        .await
        .expect("update team");
    assert_eq!((renamed.name.as_str(), renamed.member_ids.len()), ("Tier 1", 0));
    assert_eq!(store.list_teams(account.id).await.expect("teams").len(), 1);

    let company = store
        .create_company(NewCompany {
            account_id: account.id,
            name: "Acme".into(),
            members_see_company_tickets: true,
            members_write_company_tickets: false,
            domains: Vec::new(),
            sla_tier: None,
        })
        .await
        .expect("company");
    let mut customer = new_user(account.id, "carla@acme.example", Role::Customer);
    customer.company_id = Some(company.id);
    let customer = store.create_user(customer).await.expect("customer");
    assert_eq!(
        store.company(account.id, company.id).await.expect("company").map(|c| c.members_see_company_tickets),
        Some(true)
    );
    let contacts = store.contacts(account.id, customer.id).await.expect("contacts");
    assert_eq!((contacts[0].channel, contacts[0].address.as_str()), (Channel::Email, "carla@acme.example"));
    assert_eq!(store.list_users(account.id, Some(Role::Customer)).await.expect("list").len(), 1);
    assert_eq!(store.list_users(account.id, None).await.expect("list").len(), 2);

    let updated = store
        .update_user(
            account.id,
            agent.id,
            UserPatch { name: Some("Ana".into()), capacity: Some(9), ..UserPatch::default() },
        )
        .await
        .expect("update");
    assert_eq!((updated.name.as_str(), updated.capacity), ("Ana", 9));
}
