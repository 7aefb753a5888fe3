from fastapi import APIRouter

router = APIRouter(prefix="/v1/planning", tags=["planning"])
