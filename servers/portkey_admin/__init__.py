"""portkey-admin: administer a Portkey organisation from an agent."""
