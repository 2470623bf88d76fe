-- Reserved: this number belongs to a migration of another branch; the schema is unchanged here.
SELECT 1;
