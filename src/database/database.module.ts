import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig, DatabaseConfig } from './database.config';
import { ingestionDataSourceOptions, READ_DATA_SOURCE, readDataSourceOptions } from './data-source';
import { ReadAdmission } from './read-admission';
import { DatabaseService } from './database.service';

export { MIGRATION_LOCK_KEY } from './schema';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (config: DatabaseConfig) => ({
        ...ingestionDataSourceOptions(config),
        migrationsRun: false,
        retryAttempts: 3,
        retryDelay: 1000,
      }),
    }),
    // A pool of its own for the read API: a read storm waits for these connections, never for the
    // ones the stream and the backfill write with.
    TypeOrmModule.forRootAsync({
      name: READ_DATA_SOURCE,
      inject: [databaseConfig.KEY],
      // The name again in the options: the module finds its data source by it at shutdown.
      useFactory: (config: DatabaseConfig) => ({
        name: READ_DATA_SOURCE,
        ...readDataSourceOptions(config),
        migrationsRun: false,
        retryAttempts: 3,
        retryDelay: 1000,
      }),
    }),
  ],
  // Admission to the read pool, one per replica, shared by every read route.
  providers: [DatabaseService, ReadAdmission],
  exports: [DatabaseService, ReadAdmission],
})
export class DatabaseModule {}
