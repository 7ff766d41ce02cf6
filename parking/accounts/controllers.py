"""HTTP endpoints for accounts: thin handlers that call one use case each."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post
from litestar.pagination import OffsetPagination
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from parking.accounts import repository, service
from parking.accounts.schemas import (
    AccountChange,
    NewAccount,
    PasswordChange,
    Registration,
    TokenRequest,
    TokenResponse,
    User,
)
from parking.db import DbConnection
from parking.errors import Problem, problem_responses
from parking.security import AuthRequest, Role, issue_token, requires_role

__all__ = ["AccountAdminController", "AuthController"]


def _token_response(request: Request, signed_in: service.SignedIn) -> TokenResponse:
    jwt_auth = request.app.state.jwt_auth
    return TokenResponse(
        access_token=issue_token(jwt_auth, signed_in.user_id, signed_in.role, signed_in.generation),
        expires_in=int(jwt_auth.default_token_expiration.total_seconds()),
    )


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
        signed_in = await service.authenticate(conn, data.email, data.password)
        return _token_response(request, signed_in)

    @post(
        "/password",
        status_code=200,
        summary="Set a new password for one's own account (the current one as proof)",
        description="Every other token of the account stops working; the answer is a new "
        "token for the caller.",
        responses=problem_responses(
            {403: "`wrong-password`", 422: "`validation-error`", 429: "`rate-limited`"}
        ),
    )
    async def change_password(
        self, data: JSONBody[PasswordChange], conn: DbConnection, request: AuthRequest
    ) -> TokenResponse:
        signed_in = await service.change_own_password(conn, request.user, data)
        return _token_response(request, signed_in)

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

    @get("/", summary="Accounts, optionally of one role, oldest first, a page at a time")
    async def list_accounts(
        self,
        conn: DbConnection,
        role: FromQuery[Role | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> OffsetPagination[User]:
        users, total = await repository.list_users(conn, role, limit=limit, offset=offset)
        return OffsetPagination(items=users, limit=limit, offset=offset, total=total)

    @post("/", status_code=201, summary="Create an account of any role (managers, admins)")
    async def create(self, data: JSONBody[NewAccount], conn: DbConnection) -> User:
        return await service.create_account(conn, data)

    @patch(
        "/{user_id:int}",
        summary="Deactivate or reactivate an account, or set a new password for it",
        description="Either way every token the account held stops working at once; a "
        "deactivated account cannot sign in. Its reservations and charges stay as they are.",
        responses=problem_responses(
            {
                404: "`not-found`",
                409: "`own-account`: an admin cannot deactivate themselves",
                422: "`validation-error`",
            }
        ),
    )
    async def change(
        self,
        user_id: FromPath[int],
        data: JSONBody[AccountChange],
        conn: DbConnection,
        request: AuthRequest,
    ) -> User:
        return await service.change_account(conn, request.user, user_id, data)
