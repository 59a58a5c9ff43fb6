"""名单登记: registration, approvals, views, grants and exports of the service-team roster."""
