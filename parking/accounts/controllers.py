"""HTTP endpoints for accounts: thin handlers that call one use case each."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody

from parking.accounts import repository, service
from parking.accounts.schemas import NewAccount, Registration, TokenRequest, TokenResponse, User
from parking.db import DbConnection
from parking.errors import Problem
from parking.security import AuthRequest, Role, requires_role

__all__ = ["AccountAdminController", "AuthController"]


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/register", status_code=201, summary="Register a resident account")
    async def register(self, data: JSONBody[Registration], conn: DbConnection) -> User:
        return await service.register_resident(conn, data)

    @post("/token", status_code=200, summary="Exchange email and password for a bearer token")
    async def token(
        self, data: JSONBody[TokenRequest], conn: DbConnection, request: Request
    ) -> TokenResponse:
        user_id, role = await service.authenticate(conn, data.email, data.password)
        jwt_auth = request.app.state.jwt_auth
        token = jwt_auth.create_token(identifier=str(user_id), token_extras={"role": role})
        return TokenResponse(
            access_token=token,
            expires_in=int(jwt_auth.default_token_expiration.total_seconds()),
        )

    @get("/me", summary="The account the token belongs to")
    async def me(self, request: AuthRequest, conn: DbConnection) -> User:
        user = await repository.get_user(conn, request.user.id)
        if user is None:
            raise Problem(401, "unauthorized", "The account behind this token no longer exists.")
        return user


class AccountAdminController(Controller):
    path = "/admin/users"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", summary="List accounts, optionally of one role")
    async def list_accounts(
        self, conn: DbConnection, role: FromQuery[Role | None] = None
    ) -> list[User]:
        return await repository.list_users(conn, role)

    @post("/", status_code=201, summary="Create an account of any role (managers, admins)")
    async def create(self, data: JSONBody[NewAccount], conn: DbConnection) -> User:
        return await service.create_account(conn, data)
