"""Reusable request parameter types."""

from typing import Annotated

from fastapi import Path, Query

# Row ids are 32-bit integers on PostgreSQL; a larger number can name no record and would make the
# driver overflow, so it is refused as invalid input instead.
MAX_ROW_ID = 2_147_483_647

IdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="记录编号")]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ROW_ID, description="记录编号")]
