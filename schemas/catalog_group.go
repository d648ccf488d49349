package schemas

// The Group catalog: RFC 7643 §4.2 core Group plus scimd's native-only
// description and custom data.

var groupCatalog = newGroupCatalog()

func newGroupCatalog() *catalog {
	id := attr("id", "id", TypeString, fID).exact().mut(ReadOnly).ret(ReturnedAlways).unique(UniqueServer).
		desc("Unique identifier for the SCIM resource as defined by the service provider.")
	externalID := attr("externalId", "externalId", TypeString, fExternalID).exact().
		desc("A String that is an identifier for the resource as defined by the provisioning client.")
	meta := metaAttr("Group")
	displayName := attr("displayName", "displayName", TypeString, fDisplayName).required().unique(UniqueServer).
		desc("A human-readable name for the Group.  REQUIRED.")
	// Groups are found by member with members[value eq "id"] or
	// members.value eq "id" (directory.ListGroups looks the member's groups
	// up); nothing else about members can be filtered on.
	const noMembers = "groups can be filtered by members only with members[value eq \"id\"] or members.value eq \"id\""
	members := complexAttr("members", "members", eNone,
		attr("value", "value", TypeString, fNone).exact().mut(Immutable).
			desc("Identifier of the member of this Group."),
		attr("$ref", "$ref", TypeReference, fNone).exact().mut(Immutable).refs("User").noFilter(noMembers).
			desc("The URI corresponding to a SCIM resource that is a member of this Group."),
		attr("display", "display", TypeString, fNone).mut(Immutable).noFilter(noMembers).
			desc("A human-readable name, primarily used for display purposes.  READ-ONLY."),
		attr("type", "type", TypeString, fNone).mut(Immutable).values("User").noFilter(noMembers).
			desc("A label indicating the type of resource: 'User' (groups cannot be members of groups)."),
	).multi().noFilter(noMembers).desc("A list of members of the Group.")
	description := attr("description", "description", TypeString, fDescription).internal().
		desc("A description of the group (native description).")
	customData := attr("customData", "customData", TypeJSON, fCustomData).keyed().internal().
		desc("Tenant-level free-form JSON data (native custom_data).")

	c := newCatalog(GroupResource,
		// GroupExtendedURN has no attributes of its own: SCIMGroup renders
		// the native description and custom data in it, read-only.
		[]string{GroupSchemaURN, GroupExtendedURN},
		map[string][]*Attribute{GroupSchemaURN: {displayName, members}, GroupExtendedURN: nil},
		[]*Attribute{id, externalID, meta},
		[]*Attribute{description, customData},
	)
	return c // native names: see native_names.go
}
