"""a camera sees at most 500 m

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The camera queries look 500 m around each camera before asking what it sees, and the city's
camera tiles read the cameras within 1 km of a tile: a camera said to see farther would be cut
short there without a word. The schema now refuses such a camera, as the importer does.
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Adding the constraint over such a camera fails with its row in the message; say what to do.
_NO_FAR_CAMERAS = """
    DO $$
    DECLARE far integer;
    BEGIN
        SELECT count(*) INTO far FROM camera WHERE range_m > 500;
        IF far > 0 THEN
            RAISE EXCEPTION '% cameras have a range_m over 500 m; give them at most 500 (what a '
                            'street camera shows a face at is far less) and migrate again', far;
        END IF;
    END $$
"""


def upgrade() -> None:
    op.execute(_NO_FAR_CAMERAS)
    op.create_check_constraint(op.f('ck_camera_range_at_most_500'), 'camera', 'range_m <= 500')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_camera_range_at_most_500'), 'camera', type_='check')
